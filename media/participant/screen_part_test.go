package participant

import "testing"

// TestScreenPart: a running share takes 60 % of the estimate (90 % with
// the camera off), at least 150 kbit/s and at most ScreenBitrate, never
// more than the estimate.
func TestScreenPart(t *testing.T) {
	for _, c := range []struct {
		est       int
		cameraOff bool
		want      int
	}{
		{1_000_000, false, 600_000},
		{1_000_000, true, 900_000},
		{300_000, false, 180_000},
		{200_000, false, 150_000},
		{100_000, true, 100_000},
		{5_000_000, false, ScreenBitrate},
	} {
		if got := screenPart(c.est, c.cameraOff); got != c.want {
			t.Errorf("screenPart(%d, camera off %v) = %d, want %d", c.est, c.cameraOff, got, c.want)
		}
	}
}
