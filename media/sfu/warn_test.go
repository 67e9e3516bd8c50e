package sfu

import (
	"testing"
	"time"

	"github.com/pion/rtp"
)

// feed sends fps frames a second (3 packets each, the last with the
// marker bit) for d, at the given uplink loss, and returns the warnings.
func feed(w *upWatch, now *time.Time, d time.Duration, fps int, loss float64) []string {
	var out []string
	step := time.Second / time.Duration(fps*3)
	for end := now.Add(d); now.Before(end); *now = now.Add(step) {
		n := int(now.Sub(time.Unix(0, 0)) / step)
		pkt := &rtp.Packet{Header: rtp.Header{Marker: n%3 == 2}}
		if r, _ := w.observe(pkt, loss, *now); r != "" {
			out = append(out, r)
		}
	}
	return out
}

func TestUpWatchWarnings(t *testing.T) {
	now := time.Unix(0, 0)
	w := &upWatch{}
	if got := feed(w, &now, 10*time.Second, 30, 0.01); len(got) != 0 {
		t.Fatalf("clean 30 fps: warnings %v", got)
	}
	// 15 % uplink loss: one bandwidth warning after two bad windows, then
	// at most one per 10 s.
	got := feed(w, &now, 12*time.Second, 30, 0.15)
	if len(got) != 1 || got[0] != "bandwidth" {
		t.Fatalf("15%% loss for 12 s: warnings %v, want one bandwidth", got)
	}
	got = feed(w, &now, 10*time.Second, 30, 0.15)
	if len(got) != 1 {
		t.Fatalf("15%% loss for 10 s more: warnings %v, want one more", got)
	}
	// 5 fps without loss: the sender's CPU.
	w = &upWatch{}
	if got := feed(w, &now, 6*time.Second, 5, 0); len(got) != 1 || got[0] != "cpu" {
		t.Fatalf("5 fps without loss: warnings %v, want cpu", got)
	}
	// 15 fps (a deliberate rung) is not a CPU problem.
	w = &upWatch{}
	if got := feed(w, &now, 10*time.Second, 15, 0); len(got) != 0 {
		t.Fatalf("15 fps: warnings %v", got)
	}
}
