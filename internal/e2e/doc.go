// Package e2e holds Podium's end-to-end tests: a real podiumd on loopback
// and real participants exchanging real video and audio through it.
package e2e
