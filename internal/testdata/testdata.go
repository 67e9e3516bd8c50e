// Package testdata locates Podium's real test inputs (fetched by `make testdata`
// into <repo>/testdata, never committed) and build outputs such as converted
// models (<repo>/build/models). Only tests and benchmarks use it.
package testdata

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// Root returns the repository root (the directory holding go.mod).
func Root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// Path returns <repo>/testdata/<rel>.
func Path(rel string) string { return filepath.Join(Root(), "testdata", rel) }

// Require returns Path(rel) and fails the test with a message naming the make
// target when the file is missing. It never skips: missing inputs are a failure.
func Require(tb testing.TB, rel string) string {
	tb.Helper()
	p := Path(rel)
	if _, err := os.Stat(p); err != nil {
		tb.Fatalf("test input %s missing (%v): run `make testdata`", p, err)
	}
	return p
}

// Shared returns <repo>/../shared/<rel>, the project's reference material,
// failing the test when it is absent.
func Shared(tb testing.TB, rel string) string {
	tb.Helper()
	p := filepath.Join(Root(), "..", "shared", rel)
	if _, err := os.Stat(p); err != nil {
		tb.Fatalf("reference file %s missing: %v", p, err)
	}
	return p
}
