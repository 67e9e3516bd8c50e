package participant

import (
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"
)

// The pacer's queue is bounded for video (whole frames dropped), never for
// audio.
func TestFloorPacerBoundsVideoQueue(t *testing.T) {
	p := &floorPacer{pacer: newPacer(100_000)}
	defer p.Close()
	p.SetTargetBitrate(100_000)
	p.AddStream(1, interceptor.RTPWriterFunc(func(h *rtp.Header, b []byte, _ interceptor.Attributes) (int, error) {
		return h.MarshalSize() + len(b), nil
	}))
	payload := make([]byte, 1000)
	for f := range 70 {
		for range 2 {
			if _, err := p.Write(&rtp.Header{SSRC: 1, PayloadType: vp8PT, Timestamp: uint32(f * 3000)}, payload, nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	dropped := p.dropped.Load()
	// A second at the pacing rate (1.5 x 100 kbit/s: 18.75 kB, 9 frames)
	// fits; the rest is dropped, whole frames.
	if dropped < 116 || dropped > 124 || dropped%2 != 0 {
		t.Fatalf("dropped %d of 140 video packets", dropped)
	}
	if q := p.queuedBytes(); q > 18_750+2200 {
		t.Fatalf("queue %d bytes", q)
	}
	// A key frame always goes in, and ends the dropping.
	key := append([]byte{0x10, 0x00}, payload...)
	if _, err := p.Write(&rtp.Header{SSRC: 1, PayloadType: vp8PT, Timestamp: 1 << 20}, key, nil); err != nil || p.dropped.Load() != dropped {
		t.Fatalf("key frame dropped (%v)", err)
	}
	for range 40 {
		_, _ = p.Write(&rtp.Header{SSRC: 2, PayloadType: opusPT}, payload[:100], nil)
	}
	if p.dropped.Load() != dropped {
		t.Fatal("audio dropped")
	}
}

// TestPacerRate: a 50 kB key frame queued at a 400 kbit/s target leaves at
// the pacing rate (1.5 x), not at once, and in order.
func TestPacerRate(t *testing.T) {
	t0 := time.Unix(0, 0)
	p := &pacer{factor: pacingFactor, writers: map[uint32]interceptor.RTPWriter{}, clock: func() time.Time { return t0 }}
	p.SetTargetBitrate(400_000) // 75 kB/s
	payload := make([]byte, 1188)
	for i := range 42 {
		if _, err := p.Write(&rtp.Header{SSRC: 1, PayloadType: vp8PT, SequenceNumber: uint16(i)}, payload, nil); err != nil {
			t.Fatal(err)
		}
	}
	p.due(t0)
	sent, n, done := 0, 0, time.Duration(0)
	for at := pacingInterval; at <= 2*time.Second; at += pacingInterval {
		for _, pk := range p.due(t0.Add(at)) {
			if pk.header.SequenceNumber != uint16(n) {
				t.Fatalf("packet %d sent as number %d", pk.header.SequenceNumber, n)
			}
			n++
			sent += pk.header.MarshalSize() + len(pk.payload)
		}
		if at == 300*time.Millisecond && sent > 75_000*3/10+1200 {
			t.Fatalf("%d bytes out after 300 ms at 75 kB/s", sent)
		}
		if done == 0 && len(p.queue) == 0 {
			done = at
		}
	}
	// 50.4 kB at 75 kB/s: 672 ms.
	if n != 42 || done < 600*time.Millisecond || done > 750*time.Millisecond {
		t.Fatalf("%d packets, queue drained after %v, want 42 after about 672 ms", n, done)
	}
}

// TestPacerQueueTimeBound: 100 kB queued at a 100 kbit/s target (1.5 x:
// 5.3 s at the pacing rate) leaves within about maxQueueTime.
func TestPacerQueueTimeBound(t *testing.T) {
	t0 := time.Unix(0, 0)
	p := &pacer{factor: pacingFactor, writers: map[uint32]interceptor.RTPWriter{}, clock: func() time.Time { return t0 }}
	p.SetTargetBitrate(100_000)
	payload := make([]byte, 988)
	for i := range 100 {
		_, _ = p.Write(&rtp.Header{SSRC: 1, PayloadType: vp8PT, SequenceNumber: uint16(i)}, payload, nil)
	}
	p.due(t0)
	at := time.Duration(0)
	for n := 0; n < 100 && at < 10*time.Second; {
		at += pacingInterval
		n += len(p.due(t0.Add(at)))
	}
	if at > maxQueueTime*3/2 {
		t.Fatalf("100 kB left after %v at a 100 kbit/s target, want about %v", at, maxQueueTime)
	}
}
