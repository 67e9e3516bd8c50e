package mixer

import (
	"math"
	"testing"
	"time"

	"github.com/podiumhq/podium/media/audio"
)

func tone(amp float64) []int16 {
	out := make([]int16, audio.FrameSamples)
	for i := range out {
		out[i] = int16(amp * 32767 * math.Sin(2*math.Pi*440*float64(i)/audio.SampleRate))
	}
	return out
}

func TestMixSumsAndLevels(t *testing.T) {
	m := New()
	now := time.Unix(0, 0)
	m.now = func() time.Time { return now }
	for i := 0; i < 4; i++ {
		m.Push("loud", tone(0.3))
		m.Push("quiet", tone(0.003))
		m.Push("muted", make([]int16, audio.FrameSamples))
	}
	out := m.Mix(audio.FrameSamples)
	want := tone(0.3)
	for i := range out {
		if d := int(out[i]) - int(want[i]) - int(tone(0.003)[i]); d < -1 || d > 1 {
			t.Fatalf("sample %d: %d, want %d", i, out[i], int(want[i])+int(tone(0.003)[i]))
		}
	}
	now = now.Add(1500 * time.Millisecond)
	m.Push("loud", tone(0.3))
	m.Push("quiet", tone(0.003))
	m.Push("muted", make([]int16, audio.FrameSamples))
	lv, speaker := m.Levels()
	if speaker != "loud" || !lv["loud"].Speaking || lv["quiet"].Speaking {
		t.Fatalf("speaker %q levels %+v", speaker, lv)
	}
	if !lv["muted"].Muted || lv["loud"].Muted {
		t.Fatalf("muted detection: %+v", lv)
	}
}

func TestUnderrunRefills(t *testing.T) {
	m := New()
	m.Push("a", tone(0.3))
	if out := m.Mix(audio.FrameSamples); audio.LevelDBov(out) > -100 {
		t.Fatal("mixed before the prefill was reached")
	}
	m.Push("a", tone(0.3))
	m.Push("a", tone(0.3))
	if out := m.Mix(audio.FrameSamples); audio.LevelDBov(out) < -20 {
		t.Fatal("nothing mixed after prefill")
	}
}
