package participant

import (
	"maps"
	"sync"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"
)

// pacer sends queued RTP packets at a pacing rate (gcc.Pacer). It is a
// token bucket refilled every pacingInterval whose debt carries over, so a
// frame leaves at the pacing rate whatever its size, as libwebrtc's pacer
// does (modules/pacing). pion's LeakyBucketPacer, which it replaces,
// forgets its budget every 5 ms tick and sends a whole packet whenever any
// is left: at low rates that is one packet per tick, about 2 Mbit/s of
// 1200-byte packets whatever the target, and a 640x480 key frame reached a
// 1 Mbit/s bottleneck at twice its rate and lost its tail there.
//
// No packet waits much more than maxQueueTime: while the queue holds more
// than that at the pacing rate, it drains at the rate that empties it in
// maxQueueTime (libwebrtc's pacer does the same with 2 s). After a link cut
// the queue held 100 kB at a 150 kbit/s pacing rate: audio 5 s late, and
// the call did not recover within 30 s.
//
// Audio and retransmissions go first, then video and padding in the order
// they came, as libwebrtc's pacer sends them (so audio does not wait behind
// a key frame). pion numbers packets for transport-wide congestion control
// (TWCC) before they reach the pacer; out of that order GCC saw 20-60 %
// loss, so the pacer numbers them again as they leave (as libwebrtc does
// at send time): the feedback then matches the order on the wire, and a
// frame floorPacer drops leaves no gap that reads as loss.
type pacer struct {
	factor float64 // pacing rate = factor x target

	mu     sync.Mutex
	rate   int     // bit/s
	budget float64 // bytes; negative: debt
	last   time.Time
	prio   []*pacedPacket // audio and retransmissions
	queue  []*pacedPacket // video and padding
	queued int            // bytes in both
	// twccExt: each stream's transport-wide sequence number extension ID
	// (setTWCCExt); twccSeq: the next number to send.
	twccExt map[uint32]uint8
	twccSeq uint16
	writers map[uint32]interceptor.RTPWriter
	// clock stamps queued packets (the tests set their own).
	clock func() time.Time

	done chan struct{}
	wg   sync.WaitGroup
}

// pacedPacket is a queued packet, copied: the caller's buffers are not
// kept.
type pacedPacket struct {
	header  rtp.Header
	payload []byte
	attrs   interceptor.Attributes
	// resend is a retransmission's completion (pion's NACK responder
	// learns whether and when its packet left).
	resend interface{ Release(bool) }
	queued time.Time
}

const (
	pacingInterval = 5 * time.Millisecond
	// pacingFactor is pion's (gcc.LeakyBucketPacer): the queue drains at
	// 1.5 x the target, so a frame over the average size does not wait
	// long. (libwebrtc paces at 2.5 x; at that rate a 50 kB key frame
	// still overfills a 1 Mbit/s bottleneck with an 80 ms buffer.)
	pacingFactor = 1.5
	maxBurst     = 1500 // bytes an idle pacer may send at once
	maxQueueTime = time.Second
)

func newPacer(initial int) *pacer {
	p := &pacer{factor: pacingFactor, rate: int(pacingFactor * float64(initial)), writers: map[uint32]interceptor.RTPWriter{},
		twccExt: map[uint32]uint8{}, done: make(chan struct{}), clock: time.Now}
	p.wg.Add(1)
	go p.run()
	return p
}

// SetTargetBitrate sets the target (bit/s); the queue drains at
// pacingFactor times it.
func (p *pacer) SetTargetBitrate(r int) {
	p.mu.Lock()
	p.rate = int(p.factor * float64(r))
	p.mu.Unlock()
}

// AddStream registers the writer for ssrc's packets.
func (p *pacer) AddStream(ssrc uint32, w interceptor.RTPWriter) {
	p.mu.Lock()
	p.writers[ssrc] = w
	p.mu.Unlock()
}

// setTWCCExt tells the pacer the header extension ID that carries ssrc's
// transport-wide sequence numbers (draft-holmer-rmcat-transport-wide-cc-
// extensions-01), which it rewrites in send order.
func (p *pacer) setTWCCExt(ssrc uint32, id uint8) {
	p.mu.Lock()
	p.twccExt[ssrc] = id
	p.mu.Unlock()
}

// queuedBytes returns what waits in the queue (bytes).
func (p *pacer) queuedBytes() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.queued
}

// Write queues a packet.
func (p *pacer) Write(h *rtp.Header, payload []byte, a interceptor.Attributes) (int, error) {
	pk := &pacedPacket{header: h.Clone(), payload: append([]byte(nil), payload...), attrs: maps.Clone(a)}
	for _, v := range a {
		if r, ok := v.(interface {
			Retain()
			Release(bool)
		}); ok {
			r.Retain()
			pk.resend = r
		}
	}
	p.mu.Lock()
	pk.queued = p.clock()
	if h.PayloadType == opusPT || pk.resend != nil {
		p.prio = append(p.prio, pk)
	} else {
		p.queue = append(p.queue, pk)
	}
	p.queued += h.MarshalSize() + len(payload)
	p.mu.Unlock()
	return h.MarshalSize() + len(payload), nil
}

func (p *pacer) run() {
	defer p.wg.Done()
	t := time.NewTicker(pacingInterval)
	defer t.Stop()
	for {
		select {
		case <-p.done:
			return
		case now := <-t.C:
			for _, pk := range p.due(now) {
				p.send(pk)
			}
		}
	}
}

// due refills the budget up to now and takes the packets it pays for.
func (p *pacer) due(now time.Time) []*pacedPacket {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.last.IsZero() {
		rate := float64(p.rate) / 8 // bytes/s
		if oldest, ok := p.oldest(); ok {
			// What the oldest packet has left of maxQueueTime is when
			// the queue must be empty.
			left := max(maxQueueTime-now.Sub(oldest), 2*pacingInterval)
			rate = max(rate, float64(p.queued)/left.Seconds())
		}
		p.budget += rate * now.Sub(p.last).Seconds()
	}
	p.last = now
	if len(p.prio)+len(p.queue) == 0 {
		// Idle: no credit saved up beyond one packet.
		p.budget = min(p.budget, maxBurst)
		return nil
	}
	var out []*pacedPacket
	for p.budget > 0 && len(p.prio)+len(p.queue) > 0 {
		q := &p.queue
		if len(p.prio) > 0 {
			q = &p.prio
		}
		pk := (*q)[0]
		(*q)[0] = nil
		*q = (*q)[1:]
		n := pk.header.MarshalSize() + len(pk.payload)
		p.budget -= float64(n)
		p.queued -= n
		p.stamp(pk)
		out = append(out, pk)
	}
	return out
}

// oldest returns when the longest-waiting packet was queued (p.mu held).
func (p *pacer) oldest() (time.Time, bool) {
	switch {
	case len(p.prio) > 0 && len(p.queue) > 0:
		if p.prio[0].queued.Before(p.queue[0].queued) {
			return p.prio[0].queued, true
		}
		return p.queue[0].queued, true
	case len(p.prio) > 0:
		return p.prio[0].queued, true
	case len(p.queue) > 0:
		return p.queue[0].queued, true
	}
	return time.Time{}, false
}

// stamp gives pk the next transport-wide sequence number, in send order
// (p.mu held).
func (p *pacer) stamp(pk *pacedPacket) {
	id := p.twccExt[pk.header.SSRC]
	if id == 0 || pk.header.GetExtension(id) == nil {
		return
	}
	_ = pk.header.SetExtension(id, []byte{byte(p.twccSeq >> 8), byte(p.twccSeq)})
	p.twccSeq++
}

func (p *pacer) send(pk *pacedPacket) {
	p.mu.Lock()
	w := p.writers[pk.header.SSRC]
	p.mu.Unlock()
	var err error
	if w != nil {
		_, err = w.Write(&pk.header, pk.payload, pk.attrs)
	}
	if pk.resend != nil {
		pk.resend.Release(w != nil && err == nil)
	}
}

// Close stops sending; what is still queued is dropped.
func (p *pacer) Close() error {
	select {
	case <-p.done:
		return nil
	default:
	}
	close(p.done)
	p.wg.Wait()
	p.mu.Lock()
	for _, pk := range append(p.prio, p.queue...) {
		if pk.resend != nil {
			pk.resend.Release(false)
		}
	}
	p.prio, p.queue, p.queued = nil, nil, 0
	p.mu.Unlock()
	return nil
}
