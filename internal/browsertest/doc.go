// Package browsertest runs Podium's web client (internal/web) in a real
// Chromium against podiumd and a Podium Go participant (TestChromium). The
// test creates its own network namespace with a veth pair so that Chromium,
// which gathers no ICE candidates on loopback alone, has an interface; all
// traffic stays inside that namespace.
package browsertest
