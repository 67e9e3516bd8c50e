package sfu

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
)

// Layer is what one subscriber receives of one published video track.
//
// Podium publishes one VP8 encoding per camera, and the sender's own
// ladder (media/adapt) fits it to the sender's uplink. Per subscriber the
// SFU then chooses among three layers cut from that one stream, instead of
// simulcast (which would cost every sender two or three encodes, and an
// uplink that is often the tightest link of all):
//
//	LayerFull       every packet
//	LayerKeyframes  key frames only (the publisher sends one every 4 s;
//	                a fraction of the bitrate: a thumbnail that still moves)
//	LayerNone       nothing (a tile off screen)
//
// Sequence numbers are rewritten per subscriber so a skipped stretch is
// not seen as loss, and a subscriber resumes only on a key frame. A
// subscriber's own link (loss in its receiver reports) moves it between
// full and key frames only; its subscribe hint caps that. Nothing a
// subscriber does changes what the publisher sends, so a poor subscriber
// cannot lower a good one's quality; while held below full its key-frame
// requests are not forwarded either.
type Layer int

// Layers, lowest first.
const (
	LayerNone Layer = iota
	LayerKeyframes
	LayerFull
)

func (l Layer) String() string {
	switch l {
	case LayerNone:
		return "none"
	case LayerKeyframes:
		return "keyframes"
	}
	return "full"
}

// ParseLayer maps the protocol's subscribe layers ("high", "low", "none").
func ParseLayer(s string) (Layer, error) {
	switch s {
	case "high", "full", "":
		return LayerFull, nil
	case "low", "keyframes":
		return LayerKeyframes, nil
	case "none":
		return LayerNone, nil
	}
	return LayerFull, fmt.Errorf("sfu: unknown layer %q", s)
}

// Link-layer tuning: a subscriber whose receiver reports show more than
// lossDown loss twice in a row drops to key frames only; after upHold with
// under lossUp loss it is tried at full again (the hold doubles after each
// failed try, up to maxUpHold).
const (
	lossDown  = 0.10
	lossUp    = 0.03
	upHold    = 6 * time.Second
	maxUpHold = 48 * time.Second
)

type layerState struct {
	video bool

	mu        sync.Mutex
	want      Layer // the subscriber's hint
	link      Layer // what its link takes
	badRuns   int
	goodSince time.Time
	hold      time.Duration
	downAt    time.Time

	// Forwarding state (the forward goroutine only).
	dropping bool
	sentAny  bool
	lastOut  uint16
	offset   uint16
	keyTS    uint32
	haveKey  bool
	needKey  bool
	resyncIn uint16
	// resyncing: the packets right after a resync are checked against
	// resyncIn (late ones from before it are dropped).
	resyncing bool
	// lastIn: the newest publisher sequence number forwarded or skipped.
	lastIn uint16
}

func (l *layerState) init(video bool, want Layer) {
	l.video, l.want, l.link, l.hold = video, want, LayerFull, upHold
}

func (l *layerState) current() Layer {
	l.mu.Lock()
	defer l.mu.Unlock()
	return min(l.want, l.link)
}

func (l *layerState) full() bool { return !l.video || l.current() == LayerFull }

func (l *layerState) setWant(w Layer) {
	l.mu.Lock()
	l.want = w
	l.mu.Unlock()
}

// onReport feeds one receiver report's fraction lost (x/256); it returns
// true when the link layer changed.
func (l *layerState) onReport(fraction uint8, now time.Time) bool {
	if !l.video {
		return false
	}
	loss := float64(fraction) / 256
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case l.link == LayerFull && loss > lossDown:
		l.badRuns++
		if l.badRuns >= 2 {
			l.link, l.badRuns, l.goodSince, l.downAt = LayerKeyframes, 0, time.Time{}, now
			return true
		}
	case l.link == LayerFull:
		l.badRuns = 0
		if !l.downAt.IsZero() && now.Sub(l.downAt) > 2*maxUpHold {
			l.hold = upHold
		}
	case loss < lossUp:
		if l.goodSince.IsZero() {
			l.goodSince = now
		}
		if now.Sub(l.goodSince) >= l.hold {
			// Try full again; if it fails soon, wait longer next time.
			if now.Sub(l.downAt) < l.hold+10*time.Second {
				l.hold = min(2*l.hold, maxUpHold)
			}
			l.link, l.goodSince = LayerFull, time.Time{}
			return true
		}
	default:
		l.goodSince = time.Time{}
	}
	return false
}

// wantsKeyframe: the subscriber waits at full layer for a key frame.
func (l *layerState) wantsKeyframe() bool {
	w := l.needKey
	l.needKey = false
	return w
}

func vp8Start(pkt *rtp.Packet) (start, key bool) {
	var v codecs.VP8Packet
	if _, err := v.Unmarshal(pkt.Payload); err != nil {
		return false, false
	}
	start = v.S == 1 && v.PID == 0
	return start, start && len(v.Payload) > 0 && v.Payload[0]&0x01 == 0
}

// skip takes a padding-only packet out of this subscriber's stream (a
// publisher's bandwidth probe, RFC 3550 section 5.1 padding with no
// payload): the sequence numbers after it close the gap, so the subscriber
// sees no loss. A repeat of a packet already passed (a retransmission) is
// ignored.
func (l *layerState) skip(seq uint16) {
	if !l.video || !l.sentAny || l.dropping || int16(seq-l.lastIn) <= 0 {
		return
	}
	l.lastIn = seq
	l.offset++
}

// admit decides whether pkt goes to this subscriber and with which
// sequence number.
func (l *layerState) admit(pkt *rtp.Packet) (uint16, bool) {
	if !l.video {
		return pkt.SequenceNumber, true
	}
	layer := l.current()
	_, key := vp8Start(pkt)
	if key {
		l.keyTS, l.haveKey = pkt.Timestamp, true
	}
	send := false
	switch layer {
	case LayerNone:
	case LayerKeyframes:
		send = l.haveKey && pkt.Timestamp == l.keyTS && (key || !l.dropping)
	default:
		send = !l.dropping || key
		if !send {
			l.needKey = true
		}
	}
	if !send {
		l.dropping = true
		return 0, false
	}
	if l.dropping && l.sentAny {
		// Resume after a skipped stretch: continue the subscriber's
		// sequence numbers from the last one it got.
		l.offset = pkt.SequenceNumber - (l.lastOut + 1)
		l.resyncIn, l.resyncing = pkt.SequenceNumber, true
	} else if l.resyncing {
		// Shortly after a resync a packet from before it is late; once
		// the stream is well past it the comparison would wrap (16-bit
		// sequence numbers), so it stops. Before this, with no resync
		// ever, every packet numbered 32768 or more was taken for late:
		// a publisher's video stopped for every subscriber once its
		// random initial sequence number crossed 32768.
		d := int16(pkt.SequenceNumber - l.resyncIn)
		if d < 0 {
			return 0, false
		}
		if d > 1024 {
			l.resyncing = false
		}
	}
	l.dropping = false
	if !l.sentAny || int16(pkt.SequenceNumber-l.lastIn) > 0 {
		l.lastIn = pkt.SequenceNumber
	}
	out := pkt.SequenceNumber - l.offset
	if !l.sentAny || int16(out-l.lastOut) > 0 {
		l.lastOut = out
	}
	l.sentAny = true
	return out, true
}

// wantLayer returns the layer sub asked for (caller holds SFU.mu).
func (p *Peer) wantLayer(key string) Layer {
	if w, ok := p.want[key]; ok {
		return w
	}
	return LayerFull
}

// SetSubscription sets the layer this peer wants of a remote track, named
// as the peer sees it ("<publisher>:<track>"): "high", "low" (key frames
// only) or "none". Audio is always forwarded.
func (p *Peer) SetSubscription(track, layer string) error {
	l, err := ParseLayer(layer)
	if err != nil {
		return err
	}
	pubID, trackID, ok := strings.Cut(track, ":")
	if !ok {
		return fmt.Errorf("sfu: track %q is not <publisher>:<track>", track)
	}
	key := pubID + "/" + trackID
	s := p.sfu
	s.mu.Lock()
	defer s.mu.Unlock()
	if p.want == nil {
		p.want = map[string]Layer{}
	}
	if len(p.want) > 256 {
		return fmt.Errorf("sfu: too many subscriptions")
	}
	p.want[key] = l
	if pub := p.room.tracks[key]; pub != nil {
		for _, d := range *pub.subs.Load() {
			if d.peerID == p.id {
				d.layers.setWant(l)
			}
		}
	}
	return nil
}

// SubscriberLayer reports the layer peerID now gets of the published track
// key ("<publisher>/<track>"); false if it is not subscribed.
func (s *SFU) SubscriberLayer(roomName, key, peerID string) (Layer, bool) {
	s.mu.Lock()
	rm := s.rooms[roomName]
	var pub *published
	if rm != nil {
		pub = rm.tracks[key]
	}
	s.mu.Unlock()
	if pub == nil {
		return LayerNone, false
	}
	for _, d := range *pub.subs.Load() {
		if d.peerID == peerID {
			return d.layers.current(), true
		}
	}
	return LayerNone, false
}
