package participant

import "testing"

// TestScreenPart: a running share takes 60 % of the estimate, at least
// 150 kbit/s and at most ScreenBitrate, never more than the estimate.
func TestScreenPart(t *testing.T) {
	for _, c := range []struct{ est, want int }{
		{1_000_000, 600_000},
		{300_000, 180_000},
		{200_000, 150_000},
		{100_000, 100_000},
		{5_000_000, ScreenBitrate},
	} {
		if got := screenPart(c.est); got != c.want {
			t.Errorf("screenPart(%d) = %d, want %d", c.est, got, c.want)
		}
	}
}
