package main

import (
	"os"
	"testing"
	"time"
)

// TestSoakShort: 200 participants for 30 s (the 10-minute soak is `make
// soak`, outside make test), rooms kept in a room store. Bounds: goroutines
// and fds within 20 of the start, heap within 32 MiB, RSS within 64 MiB, no
// room, participant or room log left over, and no request failed despite a
// cut of every connection every 5 s.
func TestSoakShort(t *testing.T) {
	if testing.Short() {
		t.Skip("30-s soak")
	}
	r, err := Run(Options{Participants: 200, Duration: 30 * time.Second, Rooms: 4, CutEvery: 5 * time.Second, Store: true, Log: os.Stderr})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("start: %v; peak: %v; end: %v; %d joins, %d requests, %d failed, %d reconnects",
		r.Start, r.Peak, r.End, r.Joins, r.Requests, r.Failed, r.Reconns)
	if err := r.Check(); err != nil {
		t.Fatal(err)
	}
	if r.Failed != 0 {
		t.Fatalf("%d of %d requests failed (the outbox retries until acknowledged)", r.Failed, r.Requests)
	}
}
