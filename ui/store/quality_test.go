package store

import "testing"

func TestSendingLabel(t *testing.T) {
	for _, c := range []struct {
		s    Sending
		want string
	}{
		{Sending{}, ""},
		{Sending{Adaptive: true}, ""},
		{Sending{Adaptive: true, Width: 640, Height: 480, FPS: 30}, "640x480 · 30 fps"},
		{Sending{Adaptive: true, Width: 640, Height: 480, FPS: 15, Reason: "cpu"}, "640x480 · 15 fps — cpu"},
		{Sending{Adaptive: true, Width: 320, Height: 240, FPS: 15, Reason: "bandwidth", ScreenKbps: 600}, "320x240 · 15 fps — screen share first"},
		{Sending{Adaptive: true, Width: 320, Height: 240, FPS: 15, Reason: "cpu", ScreenKbps: 600}, "320x240 · 15 fps — cpu"},
		{Sending{Adaptive: true, Width: 320, Height: 240, FPS: 15, Reason: "probe"}, "320x240 · 15 fps"},
		{Sending{Adaptive: true, AudioOnly: true, Reason: "bandwidth"}, "Audio only — bandwidth"},
		{Sending{Adaptive: true, AudioOnly: true, Reason: "probe"}, "Audio only — bandwidth"},
	} {
		if got := c.s.Label(); got != c.want {
			t.Errorf("%+v: %q, want %q", c.s, got, c.want)
		}
	}
}

func TestVideoOffAndQualityText(t *testing.T) {
	for _, c := range []struct {
		r    Remote
		want string
	}{
		{Remote{}, ""},
		{Remote{VideoOff: VideoOffSender, VideoOffReason: ReasonUser}, "Camera off"},
		{Remote{VideoOff: VideoOffSender, VideoOffReason: ReasonBandwidth}, "Audio only — their connection is too poor for video"},
		{Remote{VideoOff: VideoOffSender, VideoOffReason: ReasonCPU}, "Audio only — their computer is too busy for video"},
		{Remote{VideoOff: VideoOffReceiver}, "Video paused here (tile not shown)"},
		{Remote{VideoOff: VideoOffQuality}, "Poor connection — audio only"},
	} {
		if got := VideoOffText(c.r); got != c.want {
			t.Errorf("%+v: %q, want %q", c.r, got, c.want)
		}
	}
	if got := QualityLabel(QualityPoor, "loss 14%"); got != "Poor · loss 14%" {
		t.Errorf("poor label %q", got)
	}
	if got := QualityLabel(QualityGood, "ignored"); got != "Good" {
		t.Errorf("good label %q", got)
	}
}

func TestShownRemotes(t *testing.T) {
	s := State{}
	for _, id := range []string{"a", "b", "c", "d", "e", "f", "g"} {
		s = Reduce(s, RemoteJoined{ID: id, Name: id})
	}
	shown, hidden := ShownRemotes(s)
	if len(shown) != 7 || len(hidden) != 0 {
		t.Fatalf("grid: shown %v hidden %v", shown, hidden)
	}
	s.ScreenFrom = "a" // a shared screen: the strip holds MaxStripTiles
	shown, hidden = ShownRemotes(s)
	if len(shown) != MaxStripTiles || len(hidden) != 7-MaxStripTiles || hidden[0] != "f" {
		t.Fatalf("strip: shown %v hidden %v", shown, hidden)
	}
	s = Reduce(s, SetTileLimit{N: 2})
	shown, hidden = ShownRemotes(s)
	if len(shown) != 2 || shown[1] != "b" || len(hidden) != 5 {
		t.Fatalf("limit 2: shown %v hidden %v", shown, hidden)
	}
}

func TestMediaTickCarriesQuality(t *testing.T) {
	s := Reduce(State{}, RemoteJoined{ID: "a", Name: "Ada"})
	snd := Sending{Adaptive: true, Width: 320, Height: 240, FPS: 15, Reason: ReasonBandwidth}
	s = Reduce(s, MediaTick{Sending: &snd, Remotes: map[string]RemoteMedia{"a": {Quality: QualityPoor, QualityReason: "loss 14%",
		VideoOff: VideoOffQuality, Tracks: []TrackStat{{Track: "microphone", Kind: "audio", PacketsLost: 9}}}}})
	r, _ := s.Remote("a")
	if r.Quality != QualityPoor || r.QualityReason != "loss 14%" || r.VideoOff != VideoOffQuality || len(r.Tracks) != 1 || s.Sending != snd {
		t.Fatalf("tick not applied: %+v sending %+v", r, s.Sending)
	}
	s = Reduce(s, MediaTick{}) // no Sending: unchanged
	if s.Sending != snd {
		t.Fatalf("sending reset by a tick without it: %+v", s.Sending)
	}
	s = Reduce(s, Left{})
	if s.Sending != (Sending{}) {
		t.Fatalf("sending kept after leaving: %+v", s.Sending)
	}
}
