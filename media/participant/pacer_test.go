package participant

import (
	"testing"

	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/gcc"
	"github.com/pion/rtp"
)

// The pacer's queue is bounded for video (whole frames dropped), never for
// audio.
func TestFloorPacerBoundsVideoQueue(t *testing.T) {
	p := &floorPacer{LeakyBucketPacer: gcc.NewLeakyBucketPacer(100_000)}
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
	// About 64 kB (32 frames) fit; the rest is dropped, whole frames.
	if dropped < 70 || dropped > 80 || dropped%2 != 0 {
		t.Fatalf("dropped %d of 140 video packets", dropped)
	}
	if q := p.in.Load() - p.out.Load(); q > minQueueBytes+2200 {
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
