package session

import (
	"context"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/podiumhq/podium/media/participant"
	"github.com/podiumhq/podium/signaling/protocol"
	"github.com/podiumhq/podium/ui/store"
)

// QualityWindow: a remote's indicator shows the median level of this
// long, so one late packet burst (jitter on a busy computer) does not turn
// it poor, and a link that stays poor shows poor within about half of it.
const QualityWindow = 3 * time.Second

// qualityHistory remembers each remote's recent grades.
type qualityHistory struct {
	mu   sync.Mutex
	seen map[string][]grade // by participant ID, oldest first
	subs map[string]string  // layer asked, by participant ID (camera)
}

type grade struct {
	at     time.Time
	q      store.Quality
	reason string
}

// hold records g for id and returns the median grade of the last
// QualityWindow (with the newest reason given for that level).
func (h *qualityHistory) hold(id string, g grade) grade {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.seen == nil {
		h.seen = map[string][]grade{}
	}
	gs := append(h.seen[id], g)
	i := 0
	for i < len(gs) && g.at.Sub(gs[i].at) > QualityWindow {
		i++
	}
	gs = gs[i:]
	h.seen[id] = gs
	if g.q == store.QualityUnknown {
		return g
	}
	var levels []store.Quality
	for _, o := range gs {
		if o.q != store.QualityUnknown {
			levels = append(levels, o.q)
		}
	}
	slices.Sort(levels)
	med := levels[(len(levels)-1)/2] // the lower median: ties lean to worse
	if med == g.q {
		return g
	}
	for j := len(gs) - 1; j >= 0; j-- {
		if gs[j].q == med {
			return gs[j]
		}
	}
	return g
}

// resetSubs forgets the layers asked (after a reconnect the server
// starts every subscription at full; hidden tiles ask for none again).
func (h *qualityHistory) resetSubs() {
	h.mu.Lock()
	h.subs = nil
	h.mu.Unlock()
}

func (h *qualityHistory) forget(id string) {
	h.mu.Lock()
	delete(h.seen, id)
	delete(h.subs, id)
	h.mu.Unlock()
}

// trackStat converts a participant.TrackQuality for the store.
func trackStat(tq participant.TrackQuality) store.TrackStat {
	ts := store.TrackStat{Track: tq.Track, Kind: tq.Kind, Packets: tq.Packets, PacketsLost: tq.PacketsLost, Bytes: tq.Bytes,
		BitrateKbps: tq.BitrateKbps, LossPct: tq.LossPct, FPS: tq.FPS, FramesDecoded: tq.FramesDecoded, JitterMs: tq.JitterMs,
		RTTMs: tq.RTTMs, FECRecovered: tq.FECRecovered, Concealed: tq.Concealed, Quality: store.ParseQuality(tq.Level), Reason: tq.Reason}
	switch tq.VideoOff {
	case participant.OffBySender:
		ts.VideoOff = store.VideoOffSender
	case participant.OffByReceiver:
		ts.VideoOff = store.VideoOffReceiver
	case participant.OffByQuality:
		ts.VideoOff = store.VideoOffQuality
	}
	return ts
}

// remoteGrade sums a remote's camera and microphone up into one
// indicator: the worst track's level and reason. A camera the sender or
// we turned off does not count, except that a sender gone audio only for
// bandwidth or CPU is poor. Among equals a measured reason (loss, jitter)
// is preferred to "connection too poor for video", which the tile shows
// already.
func remoteGrade(tracks []participant.TrackQuality) (q store.Quality, reason, off, offReason string) {
	have := false
	for _, tq := range tracks {
		if tq.Track == participant.ScreenTrackID {
			continue
		}
		tl, tr := store.ParseQuality(tq.Level), tq.Reason
		if tq.Kind == "video" {
			switch tq.VideoOff {
			case participant.OffByReceiver:
				off = store.VideoOffReceiver
				continue
			case participant.OffBySender:
				off, offReason = store.VideoOffSender, tq.SenderReason
				if tq.SenderReason != protocol.ReasonBandwidth && tq.SenderReason != protocol.ReasonCPU {
					continue
				}
				tl, tr = store.QualityPoor, "audio only ("+tq.SenderReason+")"
			case participant.OffByQuality:
				off = store.VideoOffQuality
			}
		}
		if tl == store.QualityUnknown {
			continue
		}
		measured := tq.VideoOff == ""
		if !have || tl < q || (tl == q && measured && reason == "connection too poor for video") {
			q, reason, have = tl, tr, true
		}
	}
	return q, reason, off, offReason
}

// SetCameraOff tells the room our camera is off (or on again) by our own
// choice, so others show "Camera off" instead of a black picture.
func (s *Session) SetCameraOff(off bool) {
	s.camOff.Store(off)
	s.p.SetCameraOff(off) // a screen share may then take more
	s.syncCamera(false)
}

// syncCamera sends the camera's state as it is now, when it differs from
// what was last sent (force: always). Sends are serialised and read the
// state under the lock, so the last one sent is the latest.
func (s *Session) syncCamera(force bool) {
	if s.cfg.Video == nil {
		return
	}
	s.camMu.Lock()
	defer s.camMu.Unlock()
	off := s.camOff.Load()
	if !force && off == s.camSent {
		return
	}
	b := protocol.MediaStateBody{Track: "camera", Off: off}
	if off {
		b.Reason = protocol.ReasonUser
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if _, err := s.p.Signaling().Send(ctx, protocol.TypeMediaState, b); err == nil {
		s.camSent = off
	}
}

// SetVisible asks the server for a remote's camera at full (visible) or
// not at all (its tile is not shown). Repeated calls with the same answer
// send nothing.
func (s *Session) SetVisible(id string, visible bool) error {
	layer := protocol.LayerHigh
	if !visible {
		layer = protocol.LayerNone
	}
	h := &s.quality
	h.mu.Lock()
	if h.subs == nil {
		h.subs = map[string]string{}
	}
	prev, asked := h.subs[id]
	if prev == layer || (!asked && visible) {
		h.mu.Unlock()
		return nil // a new remote starts at full
	}
	h.subs[id] = layer
	h.mu.Unlock()
	return s.p.SetVideoSubscription(id, "camera", layer)
}

// Sending is our camera's adaptation state for the store.
func (s *Session) Sending() store.Sending {
	a := s.p.Adaptation()
	d := a.Decision
	if d.Rung.Name == "" {
		return store.Sending{Adaptive: s.cfg.Video != nil}
	}
	return store.Sending{Adaptive: true, Width: d.Rung.Width, Height: d.Rung.Height, FPS: d.FPS, AudioOnly: d.AudioOnly(),
		Reason: d.Reason, BitrateKbps: float64(a.SentBitrate) / 1000, EstimateKbps: float64(a.Estimate) / 1000, ScreenKbps: float64(a.ScreenBitrate) / 1000, Changes: a.Changes}
}

// sortTracks puts audio before video (a stable order for the stats panel).
func sortTracks(ts []store.TrackStat) {
	sort.SliceStable(ts, func(i, j int) bool { return ts[i].Kind < ts[j].Kind })
}

// cameraPoor: the camera track is there and graded poor.
func cameraPoor(tracks []participant.TrackQuality) bool {
	for _, tq := range tracks {
		if tq.Kind == "video" && tq.Track != participant.ScreenTrackID && tq.Level == participant.QualityPoor {
			return true
		}
	}
	return false
}
