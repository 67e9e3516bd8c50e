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

// TestPacerAudioFirst: an audio packet queued behind a 30 kB key frame at
// a 300 kbit/s target leaves as soon as the video packet in flight is paid
// for (about 21 ms at the pacing rate), not after the frame (about 530 ms).
func TestPacerAudioFirst(t *testing.T) {
	t0 := time.Unix(0, 0)
	p := &pacer{factor: pacingFactor, writers: map[uint32]interceptor.RTPWriter{}, twccExt: map[uint32]uint8{}, clock: func() time.Time { return t0 }}
	p.SetTargetBitrate(300_000)
	payload := make([]byte, 1188)
	for i := range 25 {
		_, _ = p.Write(&rtp.Header{SSRC: 1, PayloadType: vp8PT, SequenceNumber: uint16(i)}, payload, nil)
	}
	p.due(t0)
	sentAt := map[uint32]time.Duration{}
	for at := pacingInterval; at <= time.Second; at += pacingInterval {
		if at == 50*time.Millisecond {
			_, _ = p.Write(&rtp.Header{SSRC: 2, PayloadType: opusPT}, payload[:80], nil)
		}
		for _, pk := range p.due(t0.Add(at)) {
			if _, ok := sentAt[pk.header.SSRC]; !ok && pk.header.SSRC == 2 {
				sentAt[2] = at
			}
			sentAt[1] = at // the last video packet's time
		}
	}
	if got := sentAt[2]; got == 0 || got > 80*time.Millisecond {
		t.Fatalf("the audio packet queued at 50 ms left at %v, want by 80 ms", got)
	}
	if sentAt[1] < 400*time.Millisecond {
		t.Fatalf("the key frame was out after %v: not paced", sentAt[1])
	}
}

// TestPacerStampsInSendOrder: packets that reach the pacer numbered for
// transport-wide congestion control in the order they were queued leave
// renumbered in the order they are sent (audio overtaking video), with no
// gap for a packet that never reached the pacer.
func TestPacerStampsInSendOrder(t *testing.T) {
	t0 := time.Unix(0, 0)
	p := &pacer{factor: pacingFactor, writers: map[uint32]interceptor.RTPWriter{}, twccExt: map[uint32]uint8{}, clock: func() time.Time { return t0 }}
	const ext = 5
	p.setTWCCExt(1, ext)
	p.setTWCCExt(2, ext)
	p.SetTargetBitrate(200_000)
	payload := make([]byte, 1000)
	write := func(ssrc uint32, pt uint8, twcc uint16) {
		h := &rtp.Header{SSRC: ssrc, PayloadType: pt}
		if err := h.SetExtension(ext, []byte{byte(twcc >> 8), byte(twcc)}); err != nil {
			t.Fatal(err)
		}
		_, _ = p.Write(h, payload, nil)
	}
	for i := range 10 {
		write(1, vp8PT, uint16(100+i))
	}
	// 110 was a video packet dropped before the pacer.
	write(2, opusPT, 111)
	p.due(t0)
	var ssrcs []uint32
	var seqs []uint16
	for at := pacingInterval; len(seqs) < 11 && at < 2*time.Second; at += pacingInterval {
		for _, pk := range p.due(t0.Add(at)) {
			b := pk.header.GetExtension(ext)
			ssrcs, seqs = append(ssrcs, pk.header.SSRC), append(seqs, uint16(b[0])<<8|uint16(b[1]))
		}
	}
	if len(seqs) != 11 || ssrcs[0] != 2 || ssrcs[1] != 1 {
		t.Fatalf("sent SSRCs %v: want the audio first, then the video", ssrcs)
	}
	for i := 1; i < len(seqs); i++ {
		if seqs[i] != seqs[i-1]+1 {
			t.Fatalf("transport-wide sequence numbers on the wire %v: not consecutive in send order", seqs)
		}
	}
}
