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

func TestQualityMedian(t *testing.T) {
	var h qualityHistory
	t0 := time.Now()
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	// Good, with one poor spike: stays good.
	var g grade
	for i, q := range []store.Quality{store.QualityGood, store.QualityGood, store.QualityPoor, store.QualityGood, store.QualityGood} {
		reason := ""
		if q == store.QualityPoor {
			reason = "jitter 80 ms"
		}
		g = h.hold("a", grade{at: at(200 * i), q: q, reason: reason})
		if g.q != store.QualityGood {
			t.Fatalf("sample %d: a lone spike shows %v", i, g.q)
		}
	}
	// Poor from now on: poor once it is most of the window, with its reason.
	n := 0
	for i := 5; ; i++ {
		g = h.hold("a", grade{at: at(200 * i), q: store.QualityPoor, reason: "loss 14%"})
		if g.q == store.QualityPoor {
			break
		}
		if n++; n > 10 {
			t.Fatalf("poor not shown after %d poor samples", n)
		}
	}
	if g.reason != "loss 14%" || n > 6 {
		t.Fatalf("poor after %d samples, reason %q", n, g.reason)
	}
	// Good again for a whole window: good.
	for i := 30; i < 50; i++ {
		g = h.hold("a", grade{at: at(200 * i), q: store.QualityGood})
	}
	if g.q != store.QualityGood {
		t.Fatalf("recovered %+v", g)
	}
	if g = h.hold("b", grade{at: t0, q: store.QualityUnknown}); g.q != store.QualityUnknown {
		t.Fatalf("unknown %+v", g)
	}
	// A fair reason is kept when fair is the median.
	h.hold("c", grade{at: at(0), q: store.QualityFair, reason: "jitter 40 ms"})
	if g = h.hold("c", grade{at: at(200), q: store.QualityGood}); g.q != store.QualityFair || g.reason != "jitter 40 ms" {
		t.Fatalf("two samples, fair and good: %+v (the lower median leans to worse)", g)
	}
}
