package session

import (
	"testing"
	"time"

	"github.com/podiumhq/podium/media/participant"
	"github.com/podiumhq/podium/signaling/protocol"
	"github.com/podiumhq/podium/ui/store"
)

func tq(kind, track, level, reason, off, senderReason string) participant.TrackQuality {
	return participant.TrackQuality{TrackStats: participant.TrackStats{Kind: kind, Track: track}, Level: level, Reason: reason,
		VideoOff: off, SenderReason: senderReason}
}

func TestRemoteGrade(t *testing.T) {
	for _, c := range []struct {
		name            string
		tracks          []participant.TrackQuality
		q               store.Quality
		reason, off, or string
	}{
		{"none", nil, store.QualityUnknown, "", "", ""},
		{"worst wins", []participant.TrackQuality{tq("audio", "microphone", "fair", "jitter 40 ms", "", ""), tq("video", "camera", "poor", "loss 12%", "", "")},
			store.QualityPoor, "loss 12%", "", ""},
		{"measured reason preferred", []participant.TrackQuality{tq("video", "camera", "poor", "connection too poor for video", participant.OffByQuality, ""),
			tq("audio", "microphone", "poor", "loss 14%", "", "")}, store.QualityPoor, "loss 14%", store.VideoOffQuality, ""},
		{"camera off by the user is not bad quality", []participant.TrackQuality{tq("audio", "microphone", "good", "", "", ""),
			tq("video", "camera", "off", "video turned off by sender", participant.OffBySender, protocol.ReasonUser)},
			store.QualityGood, "", store.VideoOffSender, protocol.ReasonUser},
		{"audio only for bandwidth is poor", []participant.TrackQuality{tq("audio", "microphone", "good", "", "", ""),
			tq("video", "camera", "off", "", participant.OffBySender, protocol.ReasonBandwidth)},
			store.QualityPoor, "audio only (bandwidth)", store.VideoOffSender, protocol.ReasonBandwidth},
		{"hidden here", []participant.TrackQuality{tq("audio", "microphone", "fair", "loss 5%", "", ""),
			tq("video", "camera", "off", "", participant.OffByReceiver, "")}, store.QualityFair, "loss 5%", store.VideoOffReceiver, ""},
		{"screen share ignored", []participant.TrackQuality{tq("audio", "microphone", "good", "", "", ""),
			tq("video", participant.ScreenTrackID, "poor", "3 fps", "", "")}, store.QualityGood, "", "", ""},
	} {
		q, reason, off, or := remoteGrade(c.tracks)
		if q != c.q || reason != c.reason || off != c.off || or != c.or {
			t.Errorf("%s: got %v %q %q %q, want %v %q %q %q", c.name, q, reason, off, or, c.q, c.reason, c.off, c.or)
		}
	}
}

func TestQualityHold(t *testing.T) {
	var h qualityHistory
	t0 := time.Now()
	g := h.hold("a", grade{at: t0, q: store.QualityPoor, reason: "loss 14%"})
	if g.q != store.QualityPoor {
		t.Fatalf("first grade %v", g.q)
	}
	// Fair a second later: poor is held.
	if g = h.hold("a", grade{at: t0.Add(time.Second), q: store.QualityFair, reason: "loss 8%"}); g.q != store.QualityPoor || g.reason != "loss 14%" {
		t.Fatalf("held grade %+v", g)
	}
	// Past the hold the newer grades count.
	if g = h.hold("a", grade{at: t0.Add(QualityHold + 500*time.Millisecond), q: store.QualityGood}); g.q != store.QualityFair {
		t.Fatalf("after the hold %+v, want fair (1 s old)", g)
	}
	if g = h.hold("a", grade{at: t0.Add(2*QualityHold + 2*time.Second), q: store.QualityGood}); g.q != store.QualityGood {
		t.Fatalf("recovered %+v", g)
	}
	if g = h.hold("b", grade{at: t0, q: store.QualityUnknown}); g.q != store.QualityUnknown {
		t.Fatalf("unknown %+v", g)
	}
}
