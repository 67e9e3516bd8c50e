package e2e

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/podiumhq/podium/internal/host"
	"github.com/podiumhq/podium/internal/testdata"
	"github.com/podiumhq/podium/media/audio"
	"github.com/podiumhq/podium/media/framestamp"
	"github.com/podiumhq/podium/media/participant"
	"github.com/podiumhq/podium/media/rtcapi"
	"github.com/podiumhq/podium/media/source"
	"github.com/podiumhq/podium/signaling/protocol"
)

// psnrY is the PSNR (dB) of the luma planes: sent RGBA converted with
// image/color's BT.601 (JFIF) conversion, the same one mediadevices uses to
// feed the encoder, against the decoded I420 frame.
func psnrY(sent image.Image, got *image.YCbCr) float64 {
	b := got.Bounds()
	var se float64
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bb, _ := sent.At(x, y).RGBA()
			yy, _, _ := color.RGBToYCbCr(uint8(r>>8), uint8(g>>8), uint8(bb>>8))
			d := float64(yy) - float64(got.Y[got.YOffset(x, y)])
			se += d * d
		}
	}
	mse := se / float64(b.Dx()*b.Dy())
	if mse == 0 {
		return 99
	}
	return 10 * math.Log10(255*255/mse)
}

type sentFrames struct {
	mu     sync.Mutex
	frames map[uint16]image.Image
}

func (s *sentFrames) put(n uint16, img image.Image) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.frames[n] = img
	delete(s.frames, n-300) // keep the last 300 (wraps with uint16)
}

func (s *sentFrames) get(n uint16) image.Image {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.frames[n]
}

type pairStats struct {
	checked, unstamped, missing int
	minPSNR, sumPSNR            float64
	audioFrames                 int
	audioEnergy                 float64
}

// TestE2EThreeParticipants: podiumd on loopback, three participants
// publishing real video (a pedestrian video and two photos with pan and
// zoom) and audio; each decodes the other two's video and every checked
// frame must match the frame that was sent with PSNR >= 25 dB; Opus flows
// between every pair.
func TestE2EThreeParticipants(t *testing.T) {
	inputs := []string{
		testdata.Require(t, "opencv/vtest.avi"),
		testdata.Require(t, "opencv/messi5.jpg"),
		testdata.Require(t, "faceapi/sample1.jpg"),
	}
	speech := testdata.Require(t, "speech.wav")
	h, err := host.Start(host.Config{Addr: "127.0.0.1:0", Secret: []byte("e2e-secret-0123456789"), API: rtcapi.Options{LoopbackOnly: true}})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Shutdown(context.Background())

	const n = 3
	names := []string{"ana", "ben", "chloe"}
	sent := make([]*sentFrames, n)
	var mu sync.Mutex
	stats := map[[2]string]*pairStats{} // [receiver, sender]
	idOf := map[string]int{}
	parts := make([]*participant.Participant, n)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	for i := 0; i < n; i++ {
		i := i
		sent[i] = &sentFrames{frames: map[uint16]image.Image{}}
		tok, err := h.Tokens.Issue("e2e", names[i], names[i], protocol.RoleAttendee, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		vid, err := source.Open(inputs[i], 640, 480, 15)
		if err != nil {
			t.Fatal(err)
		}
		var aud audio.Source
		if i == 0 {
			aud, err = audio.NewWAV(speech)
			if err != nil {
				t.Fatal(err)
			}
		} else {
			aud = &audio.Tone{Hz: 300 + 200*float64(i), Amp: 0.3}
		}
		p, err := participant.Join(ctx, participant.Config{
			URL: h.URL(), Token: tok, Video: vid, Audio: aud, StampFrames: true, VideoBitrate: 1_200_000,
			API:         rtcapi.Options{LoopbackOnly: true},
			OnFrameSent: func(n uint16, img image.Image) { sent[i].put(n, img) },
			OnVideoFrame: func(from, _ string, img *image.YCbCr) {
				mu.Lock()
				si, ok := idOf[from]
				st := stats[[2]string{names[i], from}]
				if st == nil {
					st = &pairStats{minPSNR: math.Inf(1)}
					stats[[2]string{names[i], from}] = st
				}
				mu.Unlock()
				if !ok {
					return
				}
				fn, ok := framestamp.Read(img)
				if !ok {
					mu.Lock()
					st.unstamped++
					mu.Unlock()
					return
				}
				ref := sent[si].get(fn)
				if ref == nil {
					mu.Lock()
					st.missing++
					mu.Unlock()
					return
				}
				ps := psnrY(ref, img)
				mu.Lock()
				st.checked++
				st.sumPSNR += ps
				st.minPSNR = math.Min(st.minPSNR, ps)
				mu.Unlock()
			},
			OnAudio: func(from string, pcm []int16) {
				mu.Lock()
				defer mu.Unlock()
				st := stats[[2]string{names[i], from + "/audio"}]
				if st == nil {
					st = &pairStats{}
					stats[[2]string{names[i], from + "/audio"}] = st
				}
				st.audioFrames++
				for _, s := range pcm {
					st.audioEnergy += float64(s) * float64(s)
				}
			},
		})
		if err != nil {
			t.Fatalf("join %s: %v", names[i], err)
		}
		mu.Lock()
		idOf[p.Self().ID] = i
		mu.Unlock()
		parts[i] = p
		defer p.Close()
	}

	const want = 40 // checked frames per pair
	done := func() bool {
		mu.Lock()
		defer mu.Unlock()
		for _, r := range names {
			for _, s := range names {
				if r == s {
					continue
				}
				st := stats[[2]string{r, s}]
				if st == nil || st.checked < want {
					return false
				}
				a := stats[[2]string{r, s + "/audio"}]
				if a == nil || a.audioFrames < 50 {
					return false
				}
			}
		}
		return true
	}
	for !done() && ctx.Err() == nil {
		time.Sleep(200 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, r := range names {
		for _, s := range names {
			if r == s {
				continue
			}
			st := stats[[2]string{r, s}]
			a := stats[[2]string{r, s + "/audio"}]
			if st == nil || a == nil {
				t.Errorf("%s received nothing from %s (video %v, audio %v)", r, s, st != nil, a != nil)
				continue
			}
			t.Logf("%s <- %s: video %d frames checked, PSNR min %.1f dB mean %.1f dB, %d unstamped, %d unmatched; audio %d frames, RMS %.0f",
				r, s, st.checked, st.minPSNR, st.sumPSNR/float64(max(st.checked, 1)), st.unstamped, st.missing, a.audioFrames, math.Sqrt(a.audioEnergy/float64(max(a.audioFrames*audio.FrameSamples, 1))))
			if st.checked < want {
				t.Errorf("%s <- %s: only %d frames checked, want %d", r, s, st.checked, want)
			}
			if st.minPSNR < 25 {
				t.Errorf("%s <- %s: a decoded frame matched its sent frame at only %.1f dB (want >= 25)", r, s, st.minPSNR)
			}
			if a.audioFrames < 50 || a.audioEnergy == 0 {
				t.Errorf("%s <- %s: audio %d frames, energy %.0f", r, s, a.audioFrames, a.audioEnergy)
			}
		}
	}
	for i, p := range parts {
		for _, ts := range p.Stats() {
			t.Logf("%s stats: %+v", names[i], ts)
		}
		_ = fmt.Sprint(p.Sent())
	}
}
