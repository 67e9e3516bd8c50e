package store

import "testing"

func TestReduceCallFlow(t *testing.T) {
	s := State{Settings: Settings{Room: "demo", JoinMuted: true}}
	s = Reduce(s, HostStarted{Server: "ws://x/ws", Room: "demo", Invite: "podium://join?x"})
	if s.Screen != ScreenPreJoin || !s.Hosting {
		t.Fatalf("after HostStarted: screen %v hosting %v", s.Screen, s.Hosting)
	}
	s = Reduce(s, Joined{SelfID: "me"})
	if s.Screen != ScreenCall || !s.MicMuted {
		t.Fatalf("after Joined: screen %v muted %v (joined muted)", s.Screen, s.MicMuted)
	}
	s = Reduce(s, RemoteJoined{ID: "a", Name: "Ada"})
	s = Reduce(s, RemoteJoined{ID: "a", Name: "Ada"}) // duplicate
	s = Reduce(s, RemoteJoined{ID: "b", Name: "Bo", Existing: true})
	if len(s.Remotes) != 2 || len(s.Toasts) != 1 || s.Toasts[0].Text != "Ada joined" {
		t.Fatalf("remotes %v toasts %v", s.Remotes, s.Toasts)
	}
	s = Reduce(s, MediaTick{ActiveSpeaker: "a", Remotes: map[string]RemoteMedia{"a": {LevelDB: -20, HasVideo: true, Quality: QualityGood}}})
	if r, _ := s.Remote("a"); !r.HasVideo || r.Quality != QualityGood || s.ActiveSpeaker != "a" {
		t.Fatalf("media tick not applied: %+v", r)
	}
	s = Reduce(s, ToggleMic{})
	s = Reduce(s, ToggleHand{})
	if s.MicMuted || !s.HandRaised {
		t.Fatalf("toggles: muted %v hand %v", s.MicMuted, s.HandRaised)
	}
	s = Reduce(s, RemoteLeft{ID: "a"})
	if len(s.Remotes) != 1 || s.ActiveSpeaker != "" || s.Toasts[len(s.Toasts)-1].Text != "Ada left" {
		t.Fatalf("after leave: %+v", s)
	}
	s = Reduce(s, Left{Reason: "server gone"})
	if s.Screen != ScreenPreJoin || s.Error != "server gone" || len(s.Remotes) != 0 {
		t.Fatalf("after Left: %+v", s)
	}
}

func TestToastsBounded(t *testing.T) {
	s := State{}
	for i := 0; i < 10; i++ {
		s = Reduce(s, Notify{Text: "x"})
	}
	if len(s.Toasts) != MaxToasts {
		t.Fatalf("%d toasts, want %d", len(s.Toasts), MaxToasts)
	}
	s = Reduce(s, DismissToast{ID: s.Toasts[0].ID})
	if len(s.Toasts) != MaxToasts-1 {
		t.Fatal("dismiss did not remove")
	}
}

func TestDispatchFromEffectIsQueued(t *testing.T) {
	st := New(State{})
	var order []string
	st.OnAction(func(a Action) {
		if _, ok := a.(HostRequested); ok {
			order = append(order, "effect")
			st.Dispatch(HostStarted{Room: "r"})
			order = append(order, "effect done")
		}
	})
	st.Subscribe(func(s State, a Action) {
		if _, ok := a.(HostStarted); ok {
			order = append(order, "started")
		}
	})
	st.Dispatch(HostRequested{})
	if len(order) != 3 || order[2] != "started" || st.State().Screen != ScreenPreJoin {
		t.Fatalf("order %v", order)
	}
}
