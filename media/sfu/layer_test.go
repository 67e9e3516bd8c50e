package sfu

import (
	"testing"

	"github.com/pion/rtp"
)

// vp8Pkt is a one-packet VP8 frame (RFC 7741 payload descriptor with the
// start bit; key frames have bit 0 of the first payload byte clear).
func vp8Pkt(seq uint16, ts uint32, key bool) *rtp.Packet {
	first := byte(0x01)
	if key {
		first = 0x00
	}
	return &rtp.Packet{Header: rtp.Header{SequenceNumber: seq, Timestamp: ts}, Payload: []byte{0x10, first, 0, 0}}
}

// TestLayerAdmitsAcrossSequenceHalves: a subscriber at the full layer gets
// every packet, whatever the publisher's random initial sequence number,
// across 32768 and across the 16-bit wrap, with and without a resync (a
// skipped stretch) before. A late packet right after a resync is dropped.
func TestLayerAdmitsAcrossSequenceHalves(t *testing.T) {
	for _, start := range []uint16{0, 1, 20000, 32000, 32767, 40000, 65000} {
		var l layerState
		l.init(true, LayerFull)
		seq := start
		for i := 0; i < 70000; i++ {
			out, ok := l.admit(vp8Pkt(seq, uint32(i*3000), i%100 == 0))
			if !ok {
				t.Fatalf("start %d: packet %d (seq %d) not forwarded", start, i, seq)
			}
			if out != seq {
				t.Fatalf("start %d: seq %d forwarded as %d", start, seq, out)
			}
			seq++
		}
	}
	// After a resync (the subscriber was held, then resumed on a key
	// frame), packets keep flowing for far more than 32768 packets, and
	// a late one from before the resync is dropped.
	var l layerState
	l.init(true, LayerFull)
	seq := uint16(100)
	for i := 0; i < 10; i++ {
		l.admit(vp8Pkt(seq, uint32(i), i == 0))
		seq++
	}
	l.want = LayerNone
	for i := 0; i < 50; i++ {
		l.admit(vp8Pkt(seq, uint32(100+i), false))
		seq++
	}
	l.want = LayerFull
	if _, ok := l.admit(vp8Pkt(seq, 500, true)); !ok {
		t.Fatal("the key frame after the held stretch was not forwarded")
	}
	resync := seq
	seq++
	if _, ok := l.admit(vp8Pkt(resync-3, 499, false)); ok {
		t.Fatal("a late packet from before the resync was forwarded")
	}
	for i := 0; i < 70000; i++ {
		if _, ok := l.admit(vp8Pkt(seq, uint32(600+i), false)); !ok {
			t.Fatalf("packet %d after the resync (seq %d, resync at %d) not forwarded", i, seq, resync)
		}
		seq++
	}
}

// TestLayerSkipsPadding: padding-only packets (a publisher's bandwidth
// probe) are not forwarded, and the subscriber's sequence numbers stay
// contiguous across them, across the 16-bit wrap, and when a padding
// packet is retransmitted.
func TestLayerSkipsPadding(t *testing.T) {
	var l layerState
	l.init(true, LayerFull)
	seq := uint16(65500)
	var want uint16
	for i := 0; i < 300; i++ {
		if i%3 == 2 {
			l.skip(seq) // padding
			if i%9 == 8 {
				l.skip(seq) // its retransmission
			}
			seq++
			continue
		}
		out, ok := l.admit(vp8Pkt(seq, uint32(i*3000), i == 0))
		if !ok {
			t.Fatalf("packet %d (seq %d) not forwarded", i, seq)
		}
		if i > 0 && out != want {
			t.Fatalf("packet %d (seq %d) forwarded as %d, want %d", i, seq, out, want)
		}
		want = out + 1
		seq++
	}
	// Padding while the subscriber is held at key frames only changes
	// nothing: it resumes on the next key frame right after its last
	// forwarded packet.
	l.want = LayerKeyframes
	for i := 0; i < 5; i++ {
		l.admit(vp8Pkt(seq, uint32(900000+i), false))
		seq++
		l.skip(seq)
		seq++
	}
	out, ok := l.admit(vp8Pkt(seq, 990000, true))
	if !ok || out != want {
		t.Fatalf("key frame after padding while held: forwarded %v as %d, want %d", ok, out, want)
	}
}

// TestOwnLoss: loss on the publisher's uplink over the same interval is
// taken out of a subscriber's reported loss (RFC 3550 fraction, x/256).
func TestOwnLoss(t *testing.T) {
	for _, c := range []struct {
		fraction uint8
		up       float64
		want     uint8
	}{
		{77, 0.30, 0},   // all of it upstream
		{77, 0, 77},     // none upstream
		{128, 0.20, 96}, // 1 - 0.5/0.8 = 0.375
		{10, 0.25, 0},   // retransmissions recovered more than was lost
	} {
		if got := ownLoss(c.fraction, c.up); got != c.want {
			t.Errorf("ownLoss(%d, %.2f) = %d, want %d", c.fraction, c.up, got, c.want)
		}
	}
}
