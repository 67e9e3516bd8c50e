package participant

import (
	"fmt"
	"image"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/cc"
	"github.com/pion/interceptor/pkg/gcc"
	"github.com/pion/mediadevices/pkg/codec"
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"

	"github.com/podiumhq/podium/media/adapt"
	"github.com/podiumhq/podium/media/rtcapi"
	"github.com/podiumhq/podium/signaling/protocol"
)

// AdaptState is the sender's adaptation now (Config.Adaptive).
type AdaptState struct {
	Decision adapt.Decision
	// Estimate is GCC's send-side bandwidth estimate (bit/s).
	Estimate int
	// ScreenBitrate is a running screen share's part of Estimate (bit/s;
	// the camera's ladder gets the rest), 0 when not sharing.
	ScreenBitrate int
	// EncodeBusy is the encoder pipeline's busy share over the last second.
	EncodeBusy float64
	// SentBitrate is what the video encoder produced over the last second
	// (bit/s, payload).
	SentBitrate int
	// PaddingBitrate is the RTP padding a bandwidth probe sent over the
	// last second (bit/s, on the wire; adapt.Decision.Probe).
	PaddingBitrate int
	// PacerQueue is what waits in the pacer (bytes); PacerDropped counts
	// the video packets it dropped (whole frames, over its queue bound).
	PacerQueue, PacerDropped int
	Changes                  int // decisions that changed rung, frame rate or reason
	// Congested and Calm are what the ladder was told at the last tick
	// (from GCC's state, usage and average loss); GCC says why.
	Congested, Calm bool
	GCC             string
}

// adapter runs GCC and the ladder for the camera track.
type adapter struct {
	bwe    atomic.Pointer[cc.BandwidthEstimator]
	pacer  atomic.Pointer[floorPacer]
	pacers sync.Map // cc.BandwidthEstimator -> *floorPacer
	// sawCongestion: GCC changed its estimate in a congested state since
	// the last tick (a decrease can come and go between two ticks).
	sawCongestion atomic.Bool
	// padRate: the RTP padding to send now (bit/s), padBytes: what was.
	padRate  atomic.Int64
	padBytes atomic.Int64

	mu       sync.Mutex
	ctl      *adapt.Controller
	state    AdaptState
	lastKept time.Time
	busy     time.Duration // encode time since the last tick
	frameIn  time.Time
	bytes    int // encoded bytes since the last tick
	wasAudio bool
	// The frame dropper: encoded bits not yet paid for at the encoder
	// target (see filter).
	ahead     float64
	aheadAt   time.Time
	aheadRate int
	// Quality warnings from the server (warn): until these times the
	// ladder sees congestion, or CPU pressure.
	warnBW, warnCPU time.Time
}

// warn applies a server quality warning: "bandwidth" counts as congestion
// on the current rung (a ceiling; GCC's estimate then decides how far
// down), "cpu" as a busy encoder for long enough to halve the frame rate.
func (a *adapter) warn(reason string, now time.Time) {
	if a == nil {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	switch reason {
	case protocol.ReasonBandwidth:
		a.warnBW = now.Add(time.Second)
	case protocol.ReasonCPU:
		a.warnCPU = now.Add(3 * time.Second)
	}
}

// estimate returns GCC's target (bit/s), or def before GCC runs.
func (a *adapter) estimate(def int) int {
	if e := a.bwe.Load(); e != nil {
		return (*e).GetTargetBitrate()
	}
	return def
}

// withBWE adds pion's GCC (send-side, over TWCC feedback) to o's
// interceptors, starting at initial bit/s.
func withBWE(o rtcapi.Options, initial int) (rtcapi.Options, *adapter) {
	a := &adapter{}
	prev := o.ConfigureInterceptors
	o.ConfigureInterceptors = func(m *webrtc.MediaEngine, reg *interceptor.Registry) error {
		if prev != nil {
			if err := prev(m, reg); err != nil {
				return err
			}
		}
		f, err := cc.NewInterceptor(func() (cc.BandwidthEstimator, error) {
			p := &floorPacer{pacer: newPacer(initial)}
			e, err := gcc.NewSendSideBWE(gcc.SendSideBWEInitialBitrate(initial),
				gcc.SendSideBWEMinBitrate(30_000), gcc.SendSideBWEMaxBitrate(3_000_000), gcc.SendSideBWEPacer(p))
			if err != nil {
				_ = p.Close()
				return nil, err
			}
			e.OnTargetBitrateChange(func(int) {
				if c, _ := congestion(e.GetStats()); c {
					a.sawCongestion.Store(true)
				}
			})
			b := &stampingBWE{SendSideBWE: e, pacer: p.pacer}
			a.pacers.Store(cc.BandwidthEstimator(b), p)
			return b, nil
		})
		if err != nil {
			return err
		}
		f.OnNewPeerConnection(func(_ string, e cc.BandwidthEstimator) {
			a.bwe.Store(&e)
			if p, ok := a.pacers.LoadAndDelete(e); ok {
				a.pacer.Store(p.(*floorPacer))
			}
		})
		reg.Add(f)
		return webrtc.ConfigureTWCCHeaderExtensionSender(m, reg)
	}
	return o, a
}

// stampingBWE is pion's GCC that tells the pacer which header extension
// carries each stream's transport-wide sequence numbers, so that the pacer
// can number packets in the order it sends them (pacer.stamp).
type stampingBWE struct {
	*gcc.SendSideBWE
	pacer *pacer
}

// AddStream is gcc.SendSideBWE's, after noting the stream's TWCC
// extension ID.
func (b *stampingBWE) AddStream(info *interceptor.StreamInfo, w interceptor.RTPWriter) interceptor.RTPWriter {
	for _, e := range info.RTPHeaderExtensions {
		if e.URI == sdp.TransportCCURI {
			b.pacer.setTWCCExt(info.SSRC, uint8(e.ID))
		}
	}
	return b.SendSideBWE.AddStream(info, w)
}

// floorPacer is the pacer (pacer.go: 1.5 times its target) whose target
// is never under a floor the ladder sets: while a probe or a probe-proved
// rate runs above GCC's estimate, the pacer must let it out rather than
// queue it.
//
// When a cap cuts the estimate from 1 Mbit/s to 100 kbit/s, what was
// queued at the old rate would take seconds to drain at the new one, and
// audio and every new frame would wait behind it (the pacer then drains
// faster to keep its queue under maxQueueTime, which bursts into the
// capped link). So while more than maxQueue
// (at the pacing rate, at least minQueueBytes) waits, new VP8 delta frames
// are dropped whole (a frame that started is sent whole; key frames,
// audio and retransmissions are always queued), and from the first drop
// until the next key frame every delta frame is (they would not decode).
// needKF tells the adapter to ask the encoder for that key frame once the
// queue is short again.
type floorPacer struct {
	*pacer
	mu         sync.Mutex
	est, floor int
	frames     map[uint32]*paceFrame
	dropped    atomic.Int64 // video packets dropped
	needKF     atomic.Bool
}

// paceFrame: the frame an SSRC is in, and whether it is being dropped.
type paceFrame struct {
	ts             uint32
	drop, dropping bool
}

const (
	maxQueue      = time.Second
	minQueueBytes = 16_000
	opusPT        = 111 // rtcapi registers Opus at 111 and VP8 at 96
	vp8PT         = 96
)

func (p *floorPacer) SetTargetBitrate(r int) {
	p.mu.Lock()
	p.est = r
	v := max(r, p.floor)
	p.mu.Unlock()
	p.pacer.SetTargetBitrate(v)
}

func (p *floorPacer) setFloor(f int) {
	p.mu.Lock()
	p.floor = f
	v := max(p.est, f)
	p.mu.Unlock()
	p.pacer.SetTargetBitrate(v)
}

func (p *floorPacer) Write(h *rtp.Header, payload []byte, a interceptor.Attributes) (int, error) {
	size := h.MarshalSize() + len(payload)
	if h.PayloadType != opusPT && !isResend(a) && p.drop(h, payload, size) {
		p.dropped.Add(1)
		return size, nil
	}
	return p.pacer.Write(h, payload, a)
}

// drop decides for one video packet, at the first packet of each frame.
func (p *floorPacer) drop(h *rtp.Header, payload []byte, size int) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.frames == nil {
		p.frames = map[uint32]*paceFrame{}
	}
	f := p.frames[h.SSRC]
	if f == nil {
		f = &paceFrame{ts: h.Timestamp + 1}
		p.frames[h.SSRC] = f
	}
	if f.ts == h.Timestamp {
		return f.drop
	}
	f.ts = h.Timestamp
	rate := max(p.est, p.floor) * 3 / 2
	limit := max(int64(float64(rate)/8*maxQueue.Seconds()), minQueueBytes)
	over := int64(p.queuedBytes()+size) > limit
	key := h.PayloadType == vp8PT && vp8KeyFrame(payload)
	switch {
	case key:
		f.dropping = false
	case over:
		f.dropping = true
	case f.dropping:
		p.needKF.Store(true)
	}
	f.drop = f.dropping
	return f.drop
}

// vp8KeyFrame reports whether an RTP payload starts a VP8 key frame.
func vp8KeyFrame(payload []byte) bool {
	var v codecs.VP8Packet
	b, err := v.Unmarshal(payload)
	return err == nil && v.S == 1 && v.PID == 0 && len(b) > 0 && b[0]&1 == 0
}

// isResend reports whether a packet is a retransmission (pion marks those
// with a value that is retained and released through the pacer).
func isResend(a interceptor.Attributes) bool {
	for _, v := range a {
		if _, ok := v.(interface{ Release(bool) }); ok {
			return true
		}
	}
	return false
}

// congestion reads GCC's state: congested when it is decreasing or loss
// is over 10 %; calm when it sees no delay overuse and under 2 % loss.
func congestion(stats map[string]any) (congested, calm bool) {
	state, _ := stats["state"].(string)
	usage, _ := stats["usage"].(string)
	loss, _ := stats["averageLoss"].(float64)
	congested = state == "decrease" || loss > 0.1
	calm = !congested && usage != "overuse" && loss < 0.02
	return
}

// Adaptation returns the sender's adaptation state (zero without
// Config.Adaptive or video).
func (p *Participant) Adaptation() AdaptState {
	if p.adapt == nil {
		return AdaptState{}
	}
	p.adapt.mu.Lock()
	defer p.adapt.mu.Unlock()
	return p.adapt.state
}

// filter decides whether a captured frame is encoded (frame rate, audio
// only) and scales it to the rung's size.
func (a *adapter) filter(img image.Image, now time.Time) (image.Image, bool) {
	if a == nil {
		return img, true
	}
	a.mu.Lock()
	d := a.state.Decision
	ctl := a.ctl
	a.mu.Unlock()
	if ctl == nil {
		return img, true
	}
	if d.AudioOnly() {
		return nil, false
	}
	if d.FPS > 0 && now.Sub(a.lastKept) < time.Second*9/time.Duration(d.FPS*10) {
		return nil, false
	}
	// The frame dropper (libwebrtc's FrameDropper does the same): the
	// encoder's output runs through a leaky bucket drained at its target;
	// while it is more than maxAhead of the target ahead, frames are not
	// encoded. libvpx in mediadevices runs with a 6 s rate-control buffer
	// and no frame dropping of its own: after its target falls it went on
	// sending 2-3 times the new target for seconds (seen: 387-491 kbit/s
	// for 116-167 kbit/s under a 300 kbit/s cap). A key frame alone stays
	// under the bound.
	a.mu.Lock()
	a.drain(d.Bitrate, now)
	over := a.ahead > float64(d.Bitrate)*maxAhead.Seconds()
	a.mu.Unlock()
	if over {
		return nil, false
	}
	a.lastKept = now
	b := img.Bounds()
	if d.Rung.Height >= b.Dy() || d.Rung.Height == 0 {
		return img, true
	}
	h := d.Rung.Height &^ 1
	w := (b.Dx()*h/b.Dy() + 1) &^ 1
	return scaleNearest(img, w, h), true
}

func (a *adapter) encodeStart(t time.Time) {
	if a == nil {
		return
	}
	a.mu.Lock()
	a.frameIn = t
	a.mu.Unlock()
}

func (a *adapter) encodeDone(n int, t time.Time) {
	if a == nil {
		return
	}
	a.mu.Lock()
	if !a.frameIn.IsZero() {
		a.busy += t.Sub(a.frameIn)
		a.frameIn = time.Time{}
	}
	a.bytes += n
	a.drain(a.state.Decision.Bitrate, t)
	a.ahead += float64(n * 8)
	a.mu.Unlock()
}

// maxAhead: how far (in time at the target) the encoder may run ahead of
// its target before frames are dropped.
const maxAhead = time.Second

// drain empties the frame dropper's bucket at rate bit/s up to now; when
// the target falls the bucket is held to maxAhead at the new one, so what
// the encoder ran ahead at the old target is not paid off at the new one
// (a.mu held).
func (a *adapter) drain(rate int, now time.Time) {
	if !a.aheadAt.IsZero() {
		a.ahead = max(0, a.ahead-float64(rate)*now.Sub(a.aheadAt).Seconds())
	}
	if rate < a.aheadRate {
		a.ahead = min(a.ahead, float64(rate)*maxAhead.Seconds())
	}
	a.aheadAt, a.aheadRate = now, rate
}

// run ticks the ladder every 250 ms and drives the encoder.
func (p *Participant) runAdapt(enc codec.ReadCloser, srcW, srcH int) {
	defer p.wg.Done()
	a := p.adapt
	br, _ := enc.Controller().(codec.BitRateController)
	kf, _ := enc.Controller().(codec.KeyFrameController)
	a.mu.Lock()
	a.ctl = adapt.New(adapt.Config{SourceWidth: srcW, SourceHeight: srcH})
	a.mu.Unlock()
	const tick = 250 * time.Millisecond
	t := time.NewTicker(tick)
	defer t.Stop()
	var busyWin, bytesWin, padWin []float64
	lastRate := 0
	for {
		select {
		case <-p.ctx.Done():
			return
		case now := <-t.C:
			est := a.estimate(p.cfg.VideoBitrate + p.cfg.AudioBitrate)
			congested, calm := false, false
			gccWhy := ""
			if e := a.bwe.Load(); e != nil {
				stats := (*e).GetStats()
				congested, calm = congestion(stats)
				gccWhy = fmt.Sprintf("%v/%v/%.3f", stats["state"], stats["usage"], stats["averageLoss"])
			}
			// A running screen share takes its part of the estimate
			// first; the camera's ladder gets the rest.
			screen := p.allotScreen(est)
			a.mu.Lock()
			busyWin = append(busyWin, a.busy.Seconds())
			bytesWin = append(bytesWin, float64(a.bytes))
			padWin = append(padWin, float64(a.padBytes.Swap(0)))
			a.busy, a.bytes = 0, 0
			if len(busyWin) > 4 {
				busyWin, bytesWin, padWin = busyWin[1:], bytesWin[1:], padWin[1:]
			}
			var busy, bytes, padded float64
			for i := range busyWin {
				busy += busyWin[i]
				bytes += bytesWin[i]
				padded += padWin[i]
			}
			secs := tick.Seconds() * float64(len(busyWin))
			busy /= secs
			if now.Before(a.warnBW) {
				congested, calm = true, false
			}
			if now.Before(a.warnCPU) {
				busy = max(busy, 0.95)
			}
			prev := a.state.Decision
			// What was actually sent: video payload plus the audio
			// bitrate, and about 5 % RTP/UDP/IP overhead.
			thr := int(bytes * 8 / secs * 1.05)
			if p.cfg.Audio != nil {
				thr += p.cfg.AudioBitrate
			}
			// A decrease GCC went through between two ticks. (An estimate
			// that falls while GCC is increasing is pion clamping it to
			// 1.5 x the acknowledged rate: not congestion.)
			if a.sawCongestion.Swap(false) {
				congested, calm = true, false
			}
			d := a.ctl.Update(adapt.Input{Now: now, Estimate: est - screen, EncodeBusy: busy, Congested: congested, Calm: calm, Throughput: thr})
			changed := d.Rung != prev.Rung || d.FPS != prev.FPS || d.Reason != prev.Reason
			a.state.Decision, a.state.Estimate, a.state.EncodeBusy = d, est, busy
			a.state.ScreenBitrate = screen
			a.state.Congested, a.state.Calm, a.state.GCC = congested, calm, gccWhy
			a.state.SentBitrate = int(bytes * 8 / secs)
			a.state.PaddingBitrate = int(padded * 8 / secs)
			pad := 0
			if d.Probe > 0 {
				pad = max(d.Probe-thr, 0)
			}
			a.padRate.Store(int64(pad))
			if changed {
				a.state.Changes++
			}
			resumed := a.wasAudio && !d.AudioOnly()
			a.wasAudio = d.AudioOnly()
			st := a.state
			a.mu.Unlock()
			if fp := a.pacer.Load(); fp != nil {
				a.mu.Lock()
				a.state.PacerQueue, a.state.PacerDropped = fp.queuedBytes(), int(fp.dropped.Load())
				a.mu.Unlock()
				fp.setFloor(d.Target + screen)
				// Frames the pacer dropped break the picture until a key
				// frame: ask for one once its queue is short again.
				if fp.needKF.Swap(false) {
					resumed = true
				}
			}
			if rate := vp8Bitrate(d.Bitrate, float64(d.FPS)); d.Bitrate > 0 && br != nil && bitrateMoved(lastRate, rate) {
				_ = br.SetBitRate(rate)
				lastRate = rate
			}
			if resumed && kf != nil {
				_ = kf.ForceKeyFrame()
			}
			if changed {
				p.log.Info("video adaptation", "rung", d.Rung.String(), "fps", d.FPS, "bitrate", d.Bitrate, "estimate", est, "target", d.Target, "busy", busy, "reason", d.Reason)
				p.announceVideoState(prev, d)
				if p.cfg.OnAdapt != nil {
					p.cfg.OnAdapt(st)
				}
			}
		}
	}
}

// vp8AssumedFPS is the frame rate mediadevices' VP8 encoder (v0.9.4)
// budgets for whatever the real one: it sets a 1/1000 s timebase but
// passes timestamps and durations in microseconds, so libvpx sees frames
// 1000 times longer than they are, a frame rate under 0.1, and falls back
// to 30 fps (vp8_new_framerate). Measured here: at 15 fps it sends about
// half its target (Megamind.avi 640x480: 131 kbit/s for 300; with the
// target doubled, 273).
const vp8AssumedFPS = 30

// vp8Bitrate is the bitrate to give that encoder so that at fps frames a
// second it sends target bit/s.
func vp8Bitrate(target int, fps float64) int {
	if fps <= 0 || target <= 0 {
		return target
	}
	return int(float64(target) * vp8AssumedFPS / fps)
}

// padPacketBytes is one RTP padding packet on the wire: pion's
// GeneratePadding writes 255 bytes of padding after a 12-byte header, plus
// the transport-wide sequence number extension (8), the SRTP tag (10) and
// UDP/IPv4 (28).
const padPacketBytes = 313

// padder spreads a padding rate over the frames the encoder sends (the
// encode goroutine's own state).
type padder struct {
	debt float64 // bits owed
	last time.Time
}

// step returns how many padding packets to send at now for rate bit/s
// (at most 64 at once; nothing owed after a pause of more than 200 ms).
func (p *padder) step(rate int64, now time.Time) int {
	last := p.last
	p.last = now
	if rate <= 0 || last.IsZero() {
		p.debt = 0
		return 0
	}
	p.debt += float64(rate) * min(now.Sub(last), 200*time.Millisecond).Seconds()
	n := min(int(p.debt/(padPacketBytes*8)), 64)
	p.debt -= float64(n * padPacketBytes * 8)
	return n
}

// bitrateMoved reports whether an encoder's bitrate should be set from
// prev to next (bit/s): when none was set yet, or it moves by over 5 %
// (libvpx's rate control settles for a while after each change).
func bitrateMoved(prev, next int) bool {
	return prev == 0 || abs(next-prev)*20 > prev
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// scaleNearest returns img scaled to w x h (nearest neighbour; RGBA fast
// path).
func scaleNearest(img image.Image, w, h int) *image.RGBA {
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	b := img.Bounds()
	sw, sh := b.Dx(), b.Dy()
	if src, ok := img.(*image.RGBA); ok {
		for y := 0; y < h; y++ {
			sy := b.Min.Y + y*sh/h
			srow := src.Pix[(sy-src.Rect.Min.Y)*src.Stride:]
			drow := dst.Pix[y*dst.Stride:]
			for x := 0; x < w; x++ {
				sx := (b.Min.X - src.Rect.Min.X + x*sw/w) * 4
				copy(drow[x*4:x*4+4], srow[sx:sx+4])
			}
		}
		return dst
	}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			dst.Set(x, y, img.At(b.Min.X+x*sw/w, b.Min.Y+y*sh/h))
		}
	}
	return dst
}
