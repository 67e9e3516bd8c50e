package participant

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/podiumhq/podium/media/adapt"
	"github.com/podiumhq/podium/signaling/protocol"
)

// Quality levels of a remote track.
const (
	QualityGood = "good"
	QualityFair = "fair"
	QualityPoor = "poor"
	QualityOff  = "off" // video is off; VideoOff says who turned it off
)

// Why a remote video is off.
const (
	OffBySender   = "sender"   // the sender turned it off (SenderReason: user, bandwidth, cpu)
	OffByReceiver = "receiver" // this participant turned it off (tile off screen)
	OffByQuality  = "quality"  // nothing arrives: the link is too poor
)

// TrackQuality is one remote track's live statistics and quality.
type TrackQuality struct {
	TrackStats
	RTTMs       float64 `json:"rttMs"`       // round trip to the server (ICE, STUN)
	BitrateKbps float64 `json:"bitrateKbps"` // received, over the last window
	LossPct     float64 `json:"lossPct"`     // lost share over the last window
	Level       string  `json:"level"`       // good, fair, poor, off
	Reason      string  `json:"reason,omitempty"`
	// VideoOff is set when the video is off: sender, receiver or quality.
	VideoOff     string `json:"videoOff,omitempty"`
	SenderReason string `json:"senderReason,omitempty"`
}

type qualitySample struct {
	at            time.Time
	packets       int
	bytes         int
	lost          int64
	lastPacketAt  time.Time
	bitrate, loss float64
}

type qualityState struct {
	mu        sync.Mutex
	remoteOff map[string]protocol.MediaStateBody // by "<from>:<track>"
	localOff  map[string]string                  // layer asked, by "<from>:<track>"
	samples   map[string]*qualitySample          // by "<from>:<track>"
}

// handleQuality takes media-state messages (participant.go's handle).
func (p *Participant) handleQuality(env protocol.Envelope) bool {
	if env.Type == protocol.TypeQualityWarning {
		var b protocol.QualityWarningBody
		if json.Unmarshal(env.Body, &b) != nil {
			return true
		}
		p.log.Info("quality warning from the server", "track", b.Track, "reason", b.Reason, "lossPct", b.LossPct, "fps", b.FPS)
		p.adapt.warn(b.Reason, time.Now())
		p.emit(Event{Type: env.Type, Warning: &b})
		return true
	}
	if env.Type != protocol.TypeMediaState {
		return false
	}
	var b protocol.MediaStateBody
	if json.Unmarshal(env.Body, &b) != nil || b.From == "" {
		return true
	}
	q := &p.quality
	q.mu.Lock()
	if q.remoteOff == nil {
		q.remoteOff = map[string]protocol.MediaStateBody{}
	}
	q.remoteOff[b.From+":"+b.Track] = b
	q.mu.Unlock()
	p.emit(Event{Type: env.Type, Participant: protocol.Participant{ID: b.From}})
	return true
}

// announceVideoState tells the room when adaptation turns the camera off
// (audio only) or on again.
func (p *Participant) announceVideoState(prev, d adapt.Decision) {
	if prev.AudioOnly() == d.AudioOnly() && prev.Rung.Name != "" {
		return
	}
	b := protocol.MediaStateBody{Track: "camera", Off: d.AudioOnly()}
	if b.Off {
		b.Reason = protocol.ReasonBandwidth
	} else if prev.Rung.Name == "" {
		return // the first decision: video was never announced off
	}
	ctx, cancel := context.WithTimeout(p.ctx, 2*time.Second)
	defer cancel()
	_, _ = p.sig.Send(ctx, protocol.TypeMediaState, b)
}

// SetVideoSubscription asks the server for a layer of from's track:
// protocol.LayerHigh, LayerLow (key frames only) or LayerNone (a tile off
// screen). Quality reports the track as turned off by the receiver while
// it is none.
func (p *Participant) SetVideoSubscription(from, track, layer string) error {
	key := from + ":" + track
	q := &p.quality
	q.mu.Lock()
	if q.localOff == nil {
		q.localOff = map[string]string{}
	}
	q.localOff[key] = layer
	q.mu.Unlock()
	ctx, cancel := context.WithTimeout(p.ctx, 2*time.Second)
	defer cancel()
	_, err := p.sig.Send(ctx, protocol.TypeSubscribe, protocol.SubscribeBody{Track: key, Layer: layer})
	return err
}

// resend repeats this participant's subscription choices on a new
// connection (the server's media session is new), once its first offer
// is likely answered.
func (q *qualityState) resend(p *Participant) {
	q.mu.Lock()
	subs := make(map[string]string, len(q.localOff))
	for k, v := range q.localOff {
		subs[k] = v
	}
	q.mu.Unlock()
	if len(subs) == 0 {
		return
	}
	time.AfterFunc(time.Second, func() {
		for key, layer := range subs {
			ctx, cancel := context.WithTimeout(p.ctx, 2*time.Second)
			_, _ = p.sig.Send(ctx, protocol.TypeSubscribe, protocol.SubscribeBody{Track: key, Layer: layer})
			cancel()
		}
	})
}

// RTT returns the round-trip time to the server from ICE (0 if unknown).
func (p *Participant) RTT() time.Duration {
	for _, s := range p.PeerConnection().GetStats() {
		if cp, ok := s.(webrtc.ICECandidatePairStats); ok && cp.Nominated && cp.CurrentRoundTripTime > 0 {
			return time.Duration(cp.CurrentRoundTripTime * float64(time.Second))
		}
	}
	return 0
}

// Quality returns every remote track's statistics with a quality level and
// a short reason. Rates and loss are over the time since the previous call
// (call it about once a second; the first call measures from the start).
func (p *Participant) Quality() []TrackQuality {
	stats := p.Stats()
	rtt := p.RTT()
	now := time.Now()
	q := &p.quality
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.samples == nil {
		q.samples = map[string]*qualitySample{}
	}
	out := make([]TrackQuality, 0, len(stats))
	for _, ts := range stats {
		key := ts.From + ":" + ts.Track
		tq := TrackQuality{TrackStats: ts, RTTMs: float64(rtt) / float64(time.Millisecond)}
		s := q.samples[key]
		if s == nil {
			s = &qualitySample{at: now.Add(-time.Second), lastPacketAt: now}
			q.samples[key] = s
		}
		if ts.Packets != s.packets {
			s.lastPacketAt = now
		}
		if dt := now.Sub(s.at).Seconds(); dt >= 0.5 {
			s.bitrate = float64(ts.Bytes-s.bytes) * 8 / dt / 1000
			got, lost := float64(ts.Packets-s.packets), float64(ts.PacketsLost-s.lost)
			s.loss = 0
			if got+lost > 0 && lost > 0 {
				s.loss = 100 * lost / (got + lost)
			}
			s.at, s.packets, s.bytes, s.lost = now, ts.Packets, ts.Bytes, ts.PacketsLost
		}
		tq.BitrateKbps, tq.LossPct = s.bitrate, s.loss
		stalled := now.Sub(s.lastPacketAt) > 1500*time.Millisecond
		if ts.Kind == "video" {
			if l := q.localOff[key]; l == protocol.LayerNone {
				tq.VideoOff = OffByReceiver
			} else if ms, ok := q.remoteOff[key]; ok && ms.Off {
				tq.VideoOff, tq.SenderReason = OffBySender, ms.Reason
			} else if stalled {
				tq.VideoOff = OffByQuality
			}
		}
		tq.Level, tq.Reason = grade(tq, stalled)
		out = append(out, tq)
	}
	return out
}

// grade maps statistics to good, fair or poor with the first reason. The
// round trip is this participant's own to the SFU (the remote's is not
// known here), so a long one is told as "your delay": it lies on this side
// of every remote.
func grade(t TrackQuality, stalled bool) (string, string) {
	switch t.VideoOff {
	case OffByReceiver:
		return QualityOff, "video off here"
	case OffBySender:
		if t.SenderReason == protocol.ReasonBandwidth || t.SenderReason == protocol.ReasonCPU {
			return QualityOff, "sender's " + t.SenderReason + " too low: audio only"
		}
		return QualityOff, "video turned off by sender"
	case OffByQuality:
		return QualityPoor, "connection too poor for video"
	}
	if stalled {
		return QualityPoor, "nothing received"
	}
	video := t.Kind == "video"
	type rule struct {
		bad    bool
		reason string
	}
	poor := []rule{
		{t.LossPct > 10, fmt.Sprintf("loss %.0f%%", t.LossPct)},
		{t.RTTMs > 400, fmt.Sprintf("your delay %.0f ms", t.RTTMs)},
		{t.JitterMs > 60, fmt.Sprintf("jitter %.0f ms", t.JitterMs)},
		{video && t.FramesDecoded > 0 && t.FPS < 8, fmt.Sprintf("%.0f fps", t.FPS)},
	}
	for _, r := range poor {
		if r.bad {
			return QualityPoor, r.reason
		}
	}
	fair := []rule{
		{t.LossPct > 3, fmt.Sprintf("loss %.0f%%", t.LossPct)},
		{t.RTTMs > 200, fmt.Sprintf("your delay %.0f ms", t.RTTMs)},
		{t.JitterMs > 30, fmt.Sprintf("jitter %.0f ms", t.JitterMs)},
		{video && t.FramesDecoded > 0 && t.FPS < 20, fmt.Sprintf("%.0f fps", t.FPS)},
	}
	for _, r := range fair {
		if r.bad {
			return QualityFair, r.reason
		}
	}
	return QualityGood, ""
}
