package e2e

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/podiumhq/podium/internal/host"
	"github.com/podiumhq/podium/media/audio"
	"github.com/podiumhq/podium/media/participant"
	"github.com/podiumhq/podium/media/rtcapi"
	"github.com/podiumhq/podium/media/source"
	"github.com/podiumhq/podium/signaling/protocol"
)

// framesFrom sums the video frames p received from each sender, and the
// audio packets.
func framesFrom(p *participant.Participant) (video, audioPkts map[string]int) {
	video, audioPkts = map[string]int{}, map[string]int{}
	for _, s := range p.Stats() {
		if s.Kind == "video" {
			video[s.From] += s.FramesDecoded
		} else {
			audioPkts[s.From] += s.Packets
		}
	}
	return video, audioPkts
}

// debugHook, when set, logs state before a wait fails.
var debugHook func()

func waitUntil(t *testing.T, ctx context.Context, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		if ctx.Err() != nil {
			if debugHook != nil {
				debugHook()
			}
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestHandSpotlightStage: in a webinar, an attendee who raises a hand and
// is spotlit by the presenter goes on stage and everyone receives their
// video and audio; taken off stage, their tracks stop. Before the stage the
// attendee publishes nothing (the SFU forwards only the presenter's track).
func TestHandSpotlightStage(t *testing.T) {
	h, err := host.Start(host.Config{Addr: "127.0.0.1:0", Secret: []byte("e2e-secret-0123456789"), API: rtcapi.Options{LoopbackOnly: true}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Shutdown(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	join := func(id string, role protocol.Role, vid source.Video, aud audio.Source) *participant.Participant {
		tk, err := h.Tokens.Issue("stage", id, id, role, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		p, err := participant.Join(ctx, participant.Config{URL: h.URL(), Token: tk, Video: vid, Audio: aud, VideoBitrate: 300_000,
			API: rtcapi.Options{LoopbackOnly: true}, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatalf("join %s: %v", id, err)
		}
		t.Cleanup(p.Close)
		return p
	}
	pres := join("pres", protocol.RolePresenter, source.NewTestPattern(320, 240, 15), nil)
	if _, err := pres.SetMode(ctx, protocol.ModeWebinar); err != nil {
		t.Fatal(err)
	}
	att := join("att", protocol.RoleAttendee, source.NewTestPattern(320, 240, 15), &audio.Tone{Hz: 440, Amp: 0.3})
	viewer := join("viewer", protocol.RoleAttendee, nil, nil)

	waitUntil(t, ctx, "viewer receives the presenter", func() bool { v, _ := framesFrom(viewer); return v["pres"] >= 15 })
	if v, a := framesFrom(viewer); v["att"] != 0 || a["att"] != 0 {
		t.Fatalf("attendee off stage reached the viewer: video %d, audio %d", v["att"], a["att"])
	}
	if _, tracks := h.SFU.RoomStats("stage"); tracks != 1 {
		t.Fatalf("%d tracks forwarded before the stage, want 1 (the presenter's)", tracks)
	}
	if st := att.RoomState(); st.PublishAllowed || st.Mode != protocol.ModeWebinar {
		t.Fatalf("attendee state %+v", st)
	}

	if ack, err := att.RaiseHand(ctx, time.Now()); err != nil || ack.Position != 1 {
		t.Fatalf("raise: %+v %v", ack, err)
	}
	waitUntil(t, ctx, "presenter sees the hand", func() bool { q := pres.RoomState().Queue; return len(q) == 1 && q[0].ID == "att" })
	if _, err := viewer.Spotlight(ctx, "att", true); protocol.AsError(err).Code != protocol.ErrForbidden {
		t.Fatalf("viewer's spotlight: %v, want forbidden", err)
	}
	debugHook = func() {
		_, tr := h.SFU.RoomStats("stage")
		t.Logf("sfu tracks %d", tr)
		for _, tc := range att.PeerConnection().GetTransceivers() {
			t.Logf("att transceiver mid=%q dir=%v kind=%v sender=%v", tc.Mid(), tc.Direction(), tc.Kind(), tc.Sender() != nil)
		}
		if ld := att.PeerConnection().CurrentLocalDescription(); ld != nil {
			t.Logf("att's last answer:\n%s", ld.SDP)
		}
		v, a := framesFrom(viewer)
		t.Logf("viewer %v %v", v, a)
	}
	if _, err := pres.Spotlight(ctx, "att", true); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, ctx, "everyone receives the attendee on stage", func() bool {
		v1, a1 := framesFrom(viewer)
		v2, a2 := framesFrom(pres)
		return v1["att"] >= 15 && v2["att"] >= 15 && a1["att"] > 20 && a2["att"] > 20
	})
	if st := viewer.RoomState(); st.Stage.Spotlight != "att" || len(pres.RoomState().Queue) != 0 {
		t.Fatalf("stage %+v, queue %v", st.Stage, pres.RoomState().Queue)
	}
	if _, tracks := h.SFU.RoomStats("stage"); tracks != 3 {
		t.Fatalf("%d tracks forwarded on stage, want 3", tracks)
	}

	if _, err := pres.Spotlight(ctx, "att", false); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, ctx, "the SFU stops forwarding the attendee", func() bool { _, tr := h.SFU.RoomStats("stage"); return tr == 1 })
	// Frames from att stop: two samples 1 s apart without change.
	waitUntil(t, ctx, "the viewer stops receiving the attendee", func() bool {
		v0, _ := framesFrom(viewer)
		time.Sleep(time.Second)
		v1, _ := framesFrom(viewer)
		return v1["att"] == v0["att"]
	})
	if v, _ := framesFrom(viewer); v["pres"] == 0 {
		t.Fatal("presenter's video lost")
	}
}
