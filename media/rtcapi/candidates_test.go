package rtcapi

import (
	"fmt"
	"testing"

	"github.com/pion/webrtc/v4"
)

// TestCandidateGate: candidates pass while open, wait while held and go
// in order on release, before any that come after.
func TestCandidateGate(t *testing.T) {
	var g CandidateGate
	var sent []string
	send := func(c webrtc.ICECandidateInit) { sent = append(sent, c.Candidate) }
	g.Send(webrtc.ICECandidateInit{Candidate: "a"}, send)
	g.Hold()
	g.Send(webrtc.ICECandidateInit{Candidate: "b"}, send)
	g.Send(webrtc.ICECandidateInit{Candidate: "c"}, send)
	if len(sent) != 1 {
		t.Fatalf("sent while held: %v", sent)
	}
	g.Release(send)
	g.Send(webrtc.ICECandidateInit{Candidate: "d"}, send)
	if got := fmt.Sprint(sent); got != "[a b c d]" {
		t.Fatalf("sent %s, want [a b c d]", got)
	}
}
