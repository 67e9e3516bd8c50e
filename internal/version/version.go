// Package version holds Podium's version, set at link time from FyneApp.toml
// (the one place it is written) by the Makefile.
package version

// Version is the release version, e.g. "0.1.0"; "dev" in plain `go build`s.
var Version = "dev"
