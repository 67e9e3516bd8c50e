package session

import (
	"context"
	"crypto/rand"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/podiumhq/podium/internal/host"
	"github.com/podiumhq/podium/internal/testdata"
	"github.com/podiumhq/podium/media/audio"
	"github.com/podiumhq/podium/media/participant"
	"github.com/podiumhq/podium/media/rtcapi"
	"github.com/podiumhq/podium/ui/devices"
)

// activeFrames counts 20 ms frames above -40 dBov (speech, not pauses).
func activeFrames(pcm []int16) int {
	n := 0
	for i := 0; i+audio.FrameSamples <= len(pcm); i += audio.FrameSamples {
		if audio.LevelDBov(pcm[i:i+audio.FrameSamples]) > -40 {
			n++
		}
	}
	return n
}

func energy(pcm []int16) float64 {
	var e float64
	for _, s := range pcm {
		v := float64(s) / 32768
		e += v * v
	}
	return e
}

// TestReceiveSpeechDecoded: a participant plays speech.wav (espeak-ng,
// 48 kHz) through Opus; the app's receive path (session: decode, mixer)
// must deliver it: over one loop period of the source (the speech plus the
// 1 s of silence WAV adds before looping) the mixed output's energy is
// within 2 dB of the source's, and its speech duration (frames above
// -40 dBov) within 10 %.
func TestReceiveSpeechDecoded(t *testing.T) {
	wav := testdata.Require(t, "speech.wav")
	src, rate, err := audio.ReadWAV(wav)
	if err != nil || rate != audio.SampleRate {
		t.Fatalf("read %s: %v (rate %d)", wav, err, rate)
	}
	period := len(src) + audio.SampleRate // WAV appends 1 s of silence
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	h, err := host.Start(host.Config{Addr: "127.0.0.1:0", Secret: secret, Dev: true, API: rtcapi.Options{LoopbackOnly: true}})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = h.Shutdown(ctx)
	}()

	var mu sync.Mutex
	var got []int16
	started := false
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	// The app always publishes (here: a microphone wrapper with no source,
	// i.e. silence), as a real window does.
	s, err := Join(ctx, Config{URL: h.URL(), Room: "r", Name: "App", NoPlayback: true, Loopback: true, Audio: devices.NewAudio(nil),
		Tap: func(pcm []int16) {
			mu.Lock()
			defer mu.Unlock()
			if !started && audio.LevelDBov(pcm) > -60 {
				started = true // start at the first sound: the source's start
			}
			if started {
				got = append(got, pcm...)
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Leave()
	speaker, err := audio.NewWAV(wav)
	if err != nil {
		t.Fatal(err)
	}
	p, err := participant.Join(ctx, participant.Config{URL: h.URL(), Room: "r", Name: "Speaker", Audio: speaker,
		API: rtcapi.Options{LoopbackOnly: true}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	deadline := time.Now().Add(time.Duration(period)*time.Second/audio.SampleRate + 5*time.Second)
	for {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n >= period {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("received %d of %d samples of decoded audio in time", n, period)
		}
		time.Sleep(100 * time.Millisecond)
	}
	mu.Lock()
	out := append([]int16(nil), got[:period]...)
	mu.Unlock()
	// Energy over one period does not depend on where it starts (the
	// source loops), so no alignment is needed beyond whole periods.
	eSrc, eOut := energy(src), energy(out)
	dB := 10 * math.Log10(eOut/eSrc)
	aSrc, aOut := activeFrames(src), activeFrames(out)
	t.Logf("source: %.2f s, energy %.1f, %d active frames (%.2f s of speech)", float64(len(src))/audio.SampleRate, eSrc, aSrc, float64(aSrc)*0.02)
	t.Logf("decoded: %.2f s window, energy %.1f (%+.2f dB), %d active frames (%.2f s of speech)", float64(len(out))/audio.SampleRate, eOut, dB, aOut, float64(aOut)*0.02)
	if math.Abs(dB) > 2 {
		t.Errorf("decoded energy differs from the source by %+.2f dB (want within ±2 dB)", dB)
	}
	if d := math.Abs(float64(aOut-aSrc)) / float64(aSrc); d > 0.10 {
		t.Errorf("decoded speech lasts %d frames, source %d (%.0f%% off, want within 10%%)", aOut, aSrc, 100*d)
	}
	levels, _ := s.mix.Levels()
	if len(levels) != 1 {
		t.Errorf("mixer tracks %d participants, want 1", len(levels))
	}
}
