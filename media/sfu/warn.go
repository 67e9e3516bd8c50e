package sfu

import (
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// QualityWarner is implemented by a peer's Signaler that can tell the
// publisher its video arrives degraded (signaling's quality-warning).
type QualityWarner interface {
	// SendQualityWarning: reason "bandwidth" (uplink loss, lossPct in
	// percent) or "cpu" (frames arrive at fps frames/s without loss).
	SendQualityWarning(track, reason string, lossPct, fps float64)
}

// Quality-warning thresholds, judged over windows of warnWindow on what
// arrives from the publisher; a warning needs two bad windows in a row
// and is repeated at most once per warnEvery.
const (
	warnWindow = 2 * time.Second
	warnEvery  = 10 * time.Second
	// warnLoss: uplink loss over 10 % (GCC's loss-based controller
	// decreases above 10 %, draft-ietf-rmcat-gcc-02 section 6).
	warnLoss = 0.10
	// warnFPS: fewer frames a second than the ladder's lowest video rate
	// (15 fps) halved, with under 2 % loss: the sender's computer, not its
	// link, is short.
	warnFPS     = 7.5
	warnCPULoss = 0.02
)

// upWatch follows one published video track's uplink for warnings.
type upWatch struct {
	start         time.Time
	frames        int
	badBW, badCPU int
	lastWarn      time.Time
}

// observe counts pkt (a frame ends on the RTP marker bit, RFC 7741
// section 4.1) and, at the end of a window, returns a warning to send
// ("" none) with the window's loss and frame rate.
func (w *upWatch) observe(pkt *rtp.Packet, loss float64, now time.Time) (reason string, fps float64) {
	if w.start.IsZero() {
		w.start = now
	}
	if pkt.Marker {
		w.frames++
	}
	el := now.Sub(w.start)
	if el < warnWindow {
		return "", 0
	}
	fps = float64(w.frames) / el.Seconds()
	w.start, w.frames = now, 0
	if el > 2*warnWindow {
		// A pause (the sender went audio only or was muted): not a
		// frame rate to judge.
		w.badBW, w.badCPU = 0, 0
		return "", fps
	}
	if loss > warnLoss {
		w.badBW++
	} else {
		w.badBW = 0
	}
	if fps < warnFPS && loss < warnCPULoss {
		w.badCPU++
	} else {
		w.badCPU = 0
	}
	if now.Sub(w.lastWarn) < warnEvery {
		return "", fps
	}
	switch {
	case w.badBW >= 2:
		reason = "bandwidth"
	case w.badCPU >= 2:
		reason = "cpu"
	default:
		return "", fps
	}
	w.lastWarn = now
	w.badBW, w.badCPU = 0, 0
	return reason, fps
}

// warn sends a quality warning about pub to its publisher, if its
// signaling can carry one.
func (s *SFU) warn(pub *published, reason string, loss, fps float64) {
	if pub.remote.Kind() != webrtc.RTPCodecTypeVideo {
		return
	}
	if qw, ok := pub.publisher.sig.(QualityWarner); ok {
		qw.SendQualityWarning(pub.remote.ID(), reason, loss*100, fps)
		pub.publisher.log.Info("quality warning", "track", pub.remote.ID(), "reason", reason, "lossPct", loss*100, "fps", fps)
	}
}
