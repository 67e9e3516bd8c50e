package vbg

import (
	"context"
	"image"
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

// sentFrame is what the sender had for one stamped frame: the raw camera
// frame and the mask the pipeline used for it.
type sentFrame struct {
	raw  *image.RGBA
	out  *image.YCbCr
	mask *image.Gray
}

// regionStats accumulates squared and absolute luma errors.
type regionStats struct {
	se, ae float64
	n      int
}

func (r *regionStats) add(d float64) { r.se += d * d; r.ae += math.Abs(d); r.n++ }
func (r regionStats) psnr() float64 {
	if r.n == 0 {
		return 0
	}
	mse := r.se / float64(r.n)
	if mse == 0 {
		return 99
	}
	return 10 * math.Log10(255*255/mse)
}
func (r regionStats) mad() float64 { return r.ae / float64(max(r.n, 1)) }

// lumaLimited is BT.601 limited-range luma, the compositor's output range.
func lumaLimited(r, g, b uint8) float64 {
	return 16 + 219*(0.299*float64(r)+0.587*float64(g)+0.114*float64(b))/255
}

// restamp copies the frame stamp (top-left 384x16, written on the raw frame
// before Process) into the composited I420 frame: the stamp lies in the
// background and the blur would wipe it. Test-only: it lets the receiver
// match decoded frames to sent ones.
func restamp(out *image.YCbCr, raw *image.RGBA) {
	r := framestamp.Region.Intersect(out.Rect)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			c := raw.RGBAAt(x, y)
			out.Y[out.YOffset(x, y)] = uint8(lumaLimited(c.R, c.G, c.B) + 0.5)
			if x%2 == 0 && y%2 == 0 {
				out.Cb[out.COffset(x, y)], out.Cr[out.COffset(x, y)] = 128, 128
			}
		}
	}
}

// TestBackgroundBlurEndToEnd: podiumd (in-process host, loopback) and two
// headless participants. The sender publishes the real person video
// (opencv/Megamind.avi, 640x480, 15 fps) with strong blur through the
// pipeline as participant.Config.Process; the receiver decodes VP8 and
// compares each decoded frame (matched by frame stamp) with the sender's
// RAW camera frame: inside the person region (the pipeline's own mask,
// eroded well inside the edge) they must match (PSNR >= 28 dB), and in the
// background region they must differ clearly (PSNR at least 6 dB lower and
// mean absolute difference at least twice the person's), while still
// matching the composited frame that was sent there (so the difference is
// the blur, not a broken stream).
func TestBackgroundBlurEndToEnd(t *testing.T) {
	video := testdata.Require(t, "opencv/Megamind.avi")
	const w, h, fps = 640, 480, 15
	h0, err := host.Start(host.Config{Addr: "127.0.0.1:0", Secret: []byte("vbg-e2e-secret-0123456789"), API: rtcapi.Options{LoopbackOnly: true}})
	if err != nil {
		t.Fatal(err)
	}
	defer h0.Shutdown(context.Background())

	var lastMask *image.Gray
	// The ladder stays off: under -race on a loaded 2-core machine it would
	// rightly step the effect down, and this test is about what a blurred
	// stream looks like at the receiver.
	pipe := newTestPipeline(t, Options{CameraFPS: fps, OnFrame: func(f FrameInfo) {
		if f.Mask != nil {
			m := *f.Mask
			m.Pix = append([]uint8(nil), f.Mask.Pix...)
			lastMask = &m
		}
	}})
	pipe.SetEffect(Strong)

	var mu sync.Mutex
	sent := map[uint16]sentFrame{}
	process := func(f *image.RGBA) image.Image {
		n, ok := framestamp.Read(f)
		raw := cloneRGBA(f)
		lastMask = nil
		out := pipe.Process(f)
		yc, isYC := out.(*image.YCbCr)
		if ok && isYC && lastMask != nil {
			restamp(yc, raw)
			mu.Lock()
			sent[n] = sentFrame{raw: raw, out: yc, mask: lastMask}
			delete(sent, n-200)
			mu.Unlock()
		}
		return out
	}

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	tokS, _ := h0.Tokens.Issue("vbg", "sender", "sender", protocol.RoleAttendee, time.Hour)
	tokR, _ := h0.Tokens.Issue("vbg", "receiver", "receiver", protocol.RoleAttendee, time.Hour)
	src, err := source.Open(video, w, h, fps)
	if err != nil {
		t.Fatal(err)
	}

	var person, bg, bgSent regionStats
	var checked, unmatched, unstamped int
	var personFrac float64
	const want = 30
	done := make(chan struct{})
	recv, err := participant.Join(ctx, participant.Config{
		URL: h0.URL(), Token: tokR, API: rtcapi.Options{LoopbackOnly: true},
		// A receive-only participant gets an offer with no media sections
		// ("SetRemoteDescription called with no ice-ufrag") and never
		// connects; publishing a tone avoids that (reported to the SFU's
		// owner).
		Audio: &audio.Tone{Hz: 440, Amp: 0.1},
		OnVideoFrame: func(from, _ string, img *image.YCbCr) {
			n, ok := framestamp.Read(img)
			mu.Lock()
			defer mu.Unlock()
			if !ok {
				unstamped++
				return
			}
			sf, ok := sent[n]
			if !ok {
				unmatched++
				return
			}
			if checked >= want {
				return
			}
			// Regions from the mask the sender used, eroded by 3 model
			// pixels (about 8-10 frame pixels) plus the compositor's own
			// feather: person >= 0.95, background <= 0.05.
			ref := erodeGray(sf.mask, w, h, 3)
			np := 0
			for y := 0; y < h; y++ {
				for x := 0; x < w; x++ {
					if y < framestamp.Block+8 && x < framestamp.Region.Max.X+8 {
						continue // the stamp
					}
					c := sf.raw.RGBAAt(x, y)
					got := float64(img.Y[img.YOffset(x, y)])
					d := got - lumaLimited(c.R, c.G, c.B)
					switch {
					case ref.lo[y*w+x] >= 0.95:
						person.add(d)
						np++
					case ref.hi[y*w+x] <= 0.05:
						bg.add(d)
						bgSent.add(got - float64(sf.out.Y[sf.out.YOffset(x, y)]))
					}
				}
			}
			personFrac += float64(np) / float64(w*h)
			checked++
			if checked == want {
				close(done)
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer recv.Close()
	snd, err := participant.Join(ctx, participant.Config{
		URL: h0.URL(), Token: tokS, Video: src, StampFrames: true, VideoBitrate: 1_500_000,
		API: rtcapi.Options{LoopbackOnly: true}, Process: process,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer snd.Close()

	select {
	case <-done:
	case <-ctx.Done():
	}
	mu.Lock()
	defer mu.Unlock()
	st := pipe.Stats()
	t.Logf("%d frames checked (%d unstamped, %d unmatched); person region %.1f%% of the frame on average", checked, unstamped, unmatched, 100*personFrac/float64(max(checked, 1)))
	t.Logf("decoded vs RAW, person region:     PSNR %.1f dB, mean |dY| %.2f (%d px)", person.psnr(), person.mad(), person.n)
	t.Logf("decoded vs RAW, background region: PSNR %.1f dB, mean |dY| %.2f (%d px)", bg.psnr(), bg.mad(), bg.n)
	t.Logf("decoded vs SENT (blurred), background: PSNR %.1f dB, mean |dY| %.2f", bgSent.psnr(), bgSent.mad())
	t.Logf("pipeline: %d frames, composite %.1f ms, total p50 %.1f / p95 %.1f ms, mask lag %.2f frames, %s", st.Frames, st.CompositeMs, st.TotalP50Ms, st.TotalP95Ms, st.MaskLag, st.Seg)
	if checked < want {
		t.Fatalf("only %d frames checked, want %d", checked, want)
	}
	if person.n == 0 || bg.n == 0 {
		t.Fatalf("empty regions: person %d px, background %d px", person.n, bg.n)
	}
	if person.psnr() < 28 {
		t.Errorf("person region does not match the raw frame: %.1f dB", person.psnr())
	}
	if bg.psnr() > person.psnr()-6 || bg.mad() < 2*person.mad() {
		t.Errorf("background not clearly different from the raw frame: %.1f dB / |d| %.2f vs person %.1f dB / |d| %.2f", bg.psnr(), bg.mad(), person.psnr(), person.mad())
	}
	if bgSent.psnr() < 28 {
		t.Errorf("background does not match what was sent: %.1f dB", bgSent.psnr())
	}
}

// erodeGray upsamples a model-resolution mask to w x h (nearest) with the
// min (lo) and max (hi) over a (2r+1)^2 model-pixel neighbourhood, 0..1.
func erodeGray(m *image.Gray, w, h, r int) refMask {
	mw, mh := m.Rect.Dx(), m.Rect.Dy()
	lo := make([]float32, mw*mh)
	hi := make([]float32, mw*mh)
	for y := 0; y < mh; y++ {
		for x := 0; x < mw; x++ {
			mn, mx := uint8(255), uint8(0)
			for dy := -r; dy <= r; dy++ {
				for dx := -r; dx <= r; dx++ {
					xx, yy := min(max(x+dx, 0), mw-1), min(max(y+dy, 0), mh-1)
					v := m.Pix[yy*m.Stride+xx]
					mn, mx = min(mn, v), max(mx, v)
				}
			}
			lo[y*mw+x], hi[y*mw+x] = float32(mn)/255, float32(mx)/255
		}
	}
	ref := refMask{w: w, h: h, lo: make([]float32, w*h), hi: make([]float32, w*h)}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			i := (y*mh/h)*mw + x*mw/w
			ref.lo[y*w+x], ref.hi[y*w+x] = lo[i], hi[i]
		}
	}
	return ref
}
