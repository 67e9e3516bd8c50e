package participant

import "testing"

// TestSmoothLoss: a report's loss is taken at once when it is higher, and
// decays by a quarter per report when it is lower.
func TestSmoothLoss(t *testing.T) {
	l := smoothLoss(0, 38) // 15 %
	if l != 38 {
		t.Fatalf("first report: %d, want 38", l)
	}
	for i, want := range []uint32{28, 21, 15} {
		if l = smoothLoss(l, 0); l != want {
			t.Fatalf("clean report %d: %d, want %d", i+1, l, want)
		}
	}
	if l = smoothLoss(l, 64); l != 64 {
		t.Fatalf("a burst: %d, want 64", l)
	}
}
