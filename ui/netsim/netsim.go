// Package netsim impairs a participant's uplink in-process, for tests and
// demonstrations of the app under a poor connection: an RTP interceptor
// registered nearest the network (rtcapi.Options.ConfigureInterceptors)
// that drops a random share of the outgoing RTP packets and polices the
// rest to a rate (a token bucket, like tc's tbf policing: what exceeds the
// bucket is dropped). Everything above it, including the bandwidth
// estimator's transport-wide sequence numbers and the NACK responder, sees
// these drops as a real lossy, capped link.
package netsim

import (
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// Link is an impaired uplink. The zero value passes everything.
type Link struct {
	// LossPct of the RTP packets are dropped at random (0..100).
	LossPct float64
	// RateBps caps the uplink (bit/s, RTP header and payload); 0: no cap.
	RateBps int
	// Burst is the token bucket's depth in bytes (default 1/10 s at
	// RateBps, at least 3,000 bytes).
	Burst int

	mu      sync.Mutex
	tokens  float64
	last    time.Time
	Sent    atomic.Int64 // packets let through
	Dropped atomic.Int64 // packets dropped (loss and cap)
}

// Configure returns a ConfigureInterceptors hook adding the link (chain
// it before any other: interceptors registered first sit nearest the
// network).
func (l *Link) Configure(prev func(*webrtc.MediaEngine, *interceptor.Registry) error) func(*webrtc.MediaEngine, *interceptor.Registry) error {
	return func(m *webrtc.MediaEngine, reg *interceptor.Registry) error {
		reg.Add(factory{l})
		if prev != nil {
			return prev(m, reg)
		}
		return nil
	}
}

// pass decides whether a packet of size bytes goes out now.
func (l *Link) pass(size int) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.LossPct > 0 && rand.Float64()*100 < l.LossPct {
		return false
	}
	if l.RateBps <= 0 {
		return true
	}
	burst := float64(l.Burst)
	if burst <= 0 {
		burst = max(3000, float64(l.RateBps)/8/10)
	}
	now := time.Now()
	if l.last.IsZero() {
		l.tokens = burst
	} else {
		l.tokens = min(burst, l.tokens+now.Sub(l.last).Seconds()*float64(l.RateBps)/8)
	}
	l.last = now
	if l.tokens < float64(size) {
		return false
	}
	l.tokens -= float64(size)
	return true
}

type factory struct{ l *Link }

func (f factory) NewInterceptor(string) (interceptor.Interceptor, error) {
	return &dropper{l: f.l}, nil
}

type dropper struct {
	interceptor.NoOp
	l *Link
}

func (d *dropper) BindLocalStream(_ *interceptor.StreamInfo, w interceptor.RTPWriter) interceptor.RTPWriter {
	return interceptor.RTPWriterFunc(func(h *rtp.Header, payload []byte, a interceptor.Attributes) (int, error) {
		n := h.MarshalSize() + len(payload)
		if !d.l.pass(n) {
			d.l.Dropped.Add(1)
			return n, nil // lost on the way: the writer never knows
		}
		d.l.Sent.Add(1)
		return w.Write(h, payload, a)
	})
}
