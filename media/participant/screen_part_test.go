package participant

import "testing"

// TestScreenPart: once 32 kbit/s of audio is paid for, a running share
// takes 60 % of what is left (90 % with the camera off), at least
// 150 kbit/s and at most ScreenBitrate, never more than what is left.
func TestScreenPart(t *testing.T) {
	for _, c := range []struct {
		est       int
		cameraOff bool
		want      int
	}{
		{1_032_000, false, 600_000},
		{1_032_000, true, 900_000},
		{332_000, false, 180_000},
		{232_000, false, 150_000},
		{132_000, true, 100_000},
		{20_000, false, 0},
		{5_000_000, false, ScreenBitrate},
	} {
		if got := screenPart(c.est, 32_000, c.cameraOff); got != c.want {
			t.Errorf("screenPart(%d, audio 32000, camera off %v) = %d, want %d", c.est, c.cameraOff, got, c.want)
		}
	}
}
