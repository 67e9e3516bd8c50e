// Package store holds the desktop app's state and the reducer that changes
// it. Screens render a State and dispatch Actions; effects (joining,
// hosting, devices) subscribe to actions in the app controller. Video
// frames never pass through the store: they go straight to the tiles.
package store

import (
	"slices"
	"sort"
	"sync"
	"time"
)

// Screen is the visible screen.
type Screen int

// Screens.
const (
	ScreenStart Screen = iota
	ScreenPreJoin
	ScreenCall
)

// Panel is the call screen's side panel.
type Panel string

// Side panels.
const (
	PanelNone         Panel = ""
	PanelChat         Panel = "chat"
	PanelParticipants Panel = "participants"
	PanelSettings     Panel = "settings"
)

// Quality is a remote's connection quality, from loss, jitter and fps.
type Quality int

// Qualities.
const (
	QualityUnknown Quality = iota
	QualityPoor
	QualityFair
	QualityGood
)

func (q Quality) String() string {
	return [...]string{"unknown", "poor", "fair", "good"}[q]
}

// Remote is another participant as the call screen shows it.
type Remote struct {
	ID, Name, Role string
	Joined         time.Time
	LevelDB        float64 // decoded audio level, dBov
	Muted          bool    // no audio, or digital silence for over a second
	HasVideo       bool
	Quality        Quality
	FPS            float64
	LossPct        float64
	JitterMs       float64
	Hand           bool
	// QualityReason is the indicator's short reason ("loss 14%").
	QualityReason string
	// VideoOff says why their video is off (VideoOff*; "" when on), with
	// the sender's reason for VideoOffSender.
	VideoOff, VideoOffReason string
	// Tracks are their tracks' live statistics (the stats panel).
	Tracks []TrackStat
}

// Toast is a short message shown over the window.
type Toast struct {
	ID    int
	Text  string
	Error bool
}

// Settings are the user's choices, saved with Fyne preferences.
type Settings struct {
	Server, Room, Name string
	Video              string // "testpattern", a file path, or "camera:<device id>"
	Audio              string // "tone", "none", a WAV path, or "mic:<device id>"
	Speaker            string // playback device ID, "" for the default
	// Background is "none", "blur-light", "blur-strong", "image:<bundled
	// name>" or "file" (BackgroundImage is the user's file); the older
	// "blur" and "image" read as "blur-light" and the first bundled image.
	Background      string
	BackgroundImage string
	JoinMuted       bool
	JoinCameraOff   bool
}

// State is everything the screens render.
type State struct {
	Screen   Screen
	Settings Settings
	Token    string // from a pasted invite; empty for dev joins by room and name
	Hosting  bool
	Invite   string // invite link for others while hosting
	Busy     string // non-empty while joining or starting the host
	Error    string // a message shown on the current screen with a way forward

	SelfID, SelfName        string
	MicMuted, CameraOff     bool
	HandRaised, ScreenShare bool
	MicLevelDB              float64
	Panel                   Panel
	Remotes                 []Remote // in joining order
	ActiveSpeaker           string   // participant ID, "self" or ""
	Toasts                  []Toast
	nextToast               int

	// Virtual backgrounds (ui/background.go): BgReady once the pipeline
	// runs; BgAllowed the offered kinds ("none", "blur-light",
	// "blur-strong", "image"; nil: all); BgWarning the weak-hardware
	// warning; BgUnavailable why there are no effects at all (model
	// missing); BgError why the chosen background cannot be used; BgNote
	// the degrade ladder's last step.
	BgReady                  bool
	BgAllowed                []string
	BgWarning, BgUnavailable string
	BgError, BgNote          string
	// ScreenFrom is the participant whose shared screen is on the stage
	// ("" none; SelfID while sharing ourselves).
	ScreenFrom string
	// Sending is our own camera's adaptation state (self tile, stats).
	Sending Sending
	// TileLimit overrides how many remote tiles are shown (0: TileLimit's
	// defaults).
	TileLimit int
}

// Remote returns the remote with id.
func (s State) Remote(id string) (Remote, bool) {
	for _, r := range s.Remotes {
		if r.ID == id {
			return r, true
		}
	}
	return Remote{}, false
}

// Action is something that happened; Reduce applies it.
type Action interface{ action() }

// Actions dispatched by screens (user intent) and by effects (results).
type (
	// Navigate shows a screen.
	Navigate struct{ To Screen }
	// UpdateSettings replaces the settings (form edits).
	UpdateSettings struct{ Settings Settings }
	// UseInvite fills server, room and token from a parsed invite.
	UseInvite struct{ Server, Room, Token string }
	// HostRequested asks to start the embedded server.
	HostRequested struct{}
	// HostStarted: the embedded server runs at Server; Invite is for others.
	HostStarted struct{ Server, Room, Token, Invite string }
	// JoinRequested asks to join with the current settings.
	JoinRequested struct{}
	// Joined: in the call as SelfID.
	Joined struct{ SelfID, SelfName string }
	// Failed reports an error on the current screen (and a toast).
	Failed struct{ Message string }
	// LeaveRequested asks to leave the call.
	LeaveRequested struct{}
	// Left: the call ended (Reason shown if non-empty).
	Left struct{ Reason string }
	// ToggleMic, ToggleCamera, ToggleHand, ToggleScreenShare flip a control.
	ToggleMic         struct{}
	ToggleCamera      struct{}
	ToggleHand        struct{}
	ToggleScreenShare struct{}
	// ShowPanel opens a side panel (the open one again closes it).
	ShowPanel struct{ Panel Panel }
	// RemoteJoined and RemoteLeft follow the roster.
	RemoteJoined struct {
		ID, Name, Role string
		Existing       bool // already there when we joined: no toast
	}
	RemoteLeft struct{ ID string }
	// MediaTick carries levels and statistics a few times per second.
	MediaTick struct {
		MicLevelDB    float64
		Remotes       map[string]RemoteMedia
		ActiveSpeaker string
		// ScreenFrom is a remote whose shared screen is arriving ("" none).
		ScreenFrom string
		// Sending is our camera's adaptation state (nil: unchanged).
		Sending *Sending
	}
	// Notify shows a toast; DismissToast removes one.
	Notify struct {
		Text  string
		Error bool
	}
	DismissToast struct{ ID int }
	// ClearError hides the screen's error message.
	ClearError struct{}
	// BackgroundReady: the virtual-background pipeline started (or could
	// not: Unavailable says why, naming the fix).
	BackgroundReady struct {
		Allowed              []string
		Warning, Unavailable string
	}
	// ChooseBackgroundFile asks to use a user image as the background.
	ChooseBackgroundFile struct{ Path string }
	// BackgroundFailed: the chosen background cannot be used (shown beside
	// the choice and as a toast); the call goes on without it.
	BackgroundFailed struct{ Message string }
	// BackgroundNote is a degrade-ladder step (Down: quality lowered).
	BackgroundNote struct {
		Text string
		Down bool
	}
	// ScreenShareStarted / ScreenShareStopped follow our own share
	// (Note: how it is captured, e.g. a test pattern fallback).
	ScreenShareStarted struct{ Note string }
	ScreenShareStopped struct{ Reason string }
)

// RemoteMedia is one remote's media figures in a MediaTick.
type RemoteMedia struct {
	LevelDB  float64
	Muted    bool
	HasVideo bool
	Quality  Quality
	FPS      float64
	LossPct  float64
	JitterMs float64
	// QualityReason, VideoOff, VideoOffReason and Tracks: see Remote.
	QualityReason            string
	VideoOff, VideoOffReason string
	Tracks                   []TrackStat
}

func (Navigate) action()             {}
func (UpdateSettings) action()       {}
func (UseInvite) action()            {}
func (HostRequested) action()        {}
func (HostStarted) action()          {}
func (JoinRequested) action()        {}
func (Joined) action()               {}
func (Failed) action()               {}
func (LeaveRequested) action()       {}
func (Left) action()                 {}
func (ToggleMic) action()            {}
func (ToggleCamera) action()         {}
func (ToggleHand) action()           {}
func (ToggleScreenShare) action()    {}
func (ShowPanel) action()            {}
func (RemoteJoined) action()         {}
func (RemoteLeft) action()           {}
func (MediaTick) action()            {}
func (Notify) action()               {}
func (DismissToast) action()         {}
func (ClearError) action()           {}
func (BackgroundReady) action()      {}
func (ChooseBackgroundFile) action() {}
func (BackgroundFailed) action()     {}
func (BackgroundNote) action()       {}
func (ScreenShareStarted) action()   {}
func (ScreenShareStopped) action()   {}

// SelfID is ScreenFrom while we share our own screen.
const SelfID = "self"

// MaxToasts is how many toasts show at once (older ones drop).
const MaxToasts = 4

func (s State) toast(text string, isErr bool) State {
	s.nextToast++
	t := append([]Toast(nil), s.Toasts...)
	t = append(t, Toast{ID: s.nextToast, Text: text, Error: isErr})
	if len(t) > MaxToasts {
		t = t[len(t)-MaxToasts:]
	}
	s.Toasts = t
	return s
}

// Reduce returns the state after a. It never mutates s's slices.
func Reduce(s State, a Action) State {
	switch a := a.(type) {
	case Navigate:
		s.Screen, s.Error = a.To, ""
	case UpdateSettings:
		if a.Settings.Background != s.Settings.Background || a.Settings.BackgroundImage != s.Settings.BackgroundImage {
			s.BgError, s.BgNote = "", ""
		}
		s.Settings = a.Settings
	case UseInvite:
		s.Settings.Server, s.Token = a.Server, a.Token
		if a.Room != "" {
			s.Settings.Room = a.Room
		}
	case HostRequested:
		s.Busy, s.Error = "Starting the meeting server on this computer…", ""
	case HostStarted:
		s.Busy, s.Hosting, s.Invite, s.Token = "", true, a.Invite, a.Token
		s.Settings.Server, s.Settings.Room = a.Server, a.Room
		s.Screen = ScreenPreJoin
	case JoinRequested:
		s.Busy, s.Error = "Joining "+s.Settings.Room+"…", ""
	case Joined:
		s.Busy, s.Screen = "", ScreenCall
		s.SelfID, s.SelfName = a.SelfID, a.SelfName
		s.MicMuted, s.CameraOff = s.Settings.JoinMuted, s.Settings.JoinCameraOff
		s.HandRaised, s.ScreenShare, s.Panel, s.Remotes, s.ActiveSpeaker = false, false, PanelNone, nil, ""
		s.ScreenFrom, s.Sending = "", Sending{}
	case Failed:
		s.Busy, s.Error = "", a.Message
		s = s.toast(a.Message, true)
	case LeaveRequested:
		s.Busy = "Leaving…"
	case Left:
		s.Busy, s.Screen, s.Remotes, s.ActiveSpeaker, s.Panel = "", ScreenStart, nil, "", PanelNone
		s.ScreenShare, s.ScreenFrom, s.Sending = false, "", Sending{}
		if s.Hosting {
			s.Screen = ScreenPreJoin
		}
		if a.Reason != "" {
			s.Error = a.Reason
			s = s.toast(a.Reason, true)
		}
	case ToggleMic:
		if s.Screen == ScreenCall {
			s.MicMuted = !s.MicMuted
		} else {
			s.Settings.JoinMuted = !s.Settings.JoinMuted
		}
	case ToggleCamera:
		if s.Screen == ScreenCall {
			s.CameraOff = !s.CameraOff
		} else {
			s.Settings.JoinCameraOff = !s.Settings.JoinCameraOff
		}
	case ToggleHand:
		if s.Screen == ScreenCall {
			s.HandRaised = !s.HandRaised
		}
	case HandSynced:
		s.HandRaised = a.Raised
	case ToggleScreenShare:
		// The controller starts or stops the share and reports back with
		// ScreenShareStarted / ScreenShareStopped.
	case ScreenShareStarted:
		s.ScreenShare, s.ScreenFrom = true, SelfID
		if a.Note != "" {
			s = s.toast(a.Note, false)
		}
	case ScreenShareStopped:
		s.ScreenShare = false
		if s.ScreenFrom == SelfID {
			s.ScreenFrom = ""
		}
		if a.Reason != "" {
			s = s.toast(a.Reason, true)
		}
	case BackgroundReady:
		s.BgReady, s.BgAllowed, s.BgWarning, s.BgUnavailable = true, a.Allowed, a.Warning, a.Unavailable
	case BackgroundFailed:
		s.BgError = a.Message
		s = s.toast(a.Message, true)
	case BackgroundNote:
		s.BgNote = a.Text
		// A quality step is information, not an error: the call goes on.
		s = s.toast(a.Text, false)
	case ShowPanel:
		if s.Panel == a.Panel {
			s.Panel = PanelNone
		} else {
			s.Panel = a.Panel
		}
	case RemoteJoined:
		if _, ok := s.Remote(a.ID); ok {
			break
		}
		s.Remotes = append(append([]Remote(nil), s.Remotes...), Remote{ID: a.ID, Name: a.Name, Role: a.Role, Joined: time.Now(), LevelDB: -127, Muted: true})
		if !a.Existing {
			s = s.toast(a.Name+" joined", false)
		}
	case RemoteLeft:
		out := make([]Remote, 0, len(s.Remotes))
		name := ""
		for _, r := range s.Remotes {
			if r.ID == a.ID {
				name = r.Name
				continue
			}
			out = append(out, r)
		}
		s.Remotes = out
		if s.ActiveSpeaker == a.ID {
			s.ActiveSpeaker = ""
		}
		if s.ScreenFrom == a.ID {
			s.ScreenFrom = ""
			if s.ScreenShare {
				s.ScreenFrom = SelfID
			}
		}
		if name != "" {
			s = s.toast(name+" left", false)
		}
	case MediaTick:
		s.MicLevelDB, s.ActiveSpeaker = a.MicLevelDB, a.ActiveSpeaker
		if a.Sending != nil {
			s.Sending = *a.Sending
		}
		// Our own share has the stage; otherwise a remote's share.
		if !s.ScreenShare && s.ScreenFrom != a.ScreenFrom {
			s.ScreenFrom = a.ScreenFrom
			if r, ok := s.Remote(a.ScreenFrom); ok {
				s = s.toast(r.Name+" is sharing their screen", false)
			}
		}
		out := make([]Remote, len(s.Remotes))
		for i, r := range s.Remotes {
			if m, ok := a.Remotes[r.ID]; ok {
				r.LevelDB, r.Muted, r.HasVideo, r.Quality = m.LevelDB, m.Muted, m.HasVideo, m.Quality
				r.FPS, r.LossPct, r.JitterMs = m.FPS, m.LossPct, m.JitterMs
				r.QualityReason, r.VideoOff, r.VideoOffReason, r.Tracks = m.QualityReason, m.VideoOff, m.VideoOffReason, m.Tracks
			}
			out[i] = r
		}
		s.Remotes = out
	case Notify:
		s = s.toast(a.Text, a.Error)
	case DismissToast:
		out := make([]Toast, 0, len(s.Toasts))
		for _, t := range s.Toasts {
			if t.ID != a.ID {
				out = append(out, t)
			}
		}
		s.Toasts = out
	case ClearError:
		s.Error = ""
	case SetTileLimit:
		s.TileLimit = a.N
	}
	return s
}

// Store holds the State and notifies subscribers after every action.
// Dispatch may be called from any goroutine; subscribers run on the
// dispatching goroutine (the UI wraps its rendering in fyne.Do).
type Store struct {
	mu      sync.Mutex
	state   State
	subs    []func(State, Action)
	effects []func(Action)
	queue   []Action
	busy    bool
}

// New returns a store with the initial state.
func New(initial State) *Store { return &Store{state: initial} }

// State returns the current state.
func (st *Store) State() State {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.state
}

// Subscribe calls f after each action with the new state.
func (st *Store) Subscribe(f func(State, Action)) {
	st.mu.Lock()
	st.subs = append(st.subs, f)
	st.mu.Unlock()
}

// OnAction registers an effect: f sees each action after it is reduced.
func (st *Store) OnAction(f func(Action)) {
	st.mu.Lock()
	st.effects = append(st.effects, f)
	st.mu.Unlock()
}

// Dispatch reduces a and notifies. Actions dispatched from inside a
// subscriber or effect are queued and run in order after the current one.
func (st *Store) Dispatch(a Action) {
	st.mu.Lock()
	st.queue = append(st.queue, a)
	if st.busy {
		st.mu.Unlock()
		return
	}
	st.busy = true
	for len(st.queue) > 0 {
		a := st.queue[0]
		st.queue = st.queue[1:]
		st.state = Reduce(st.state, a)
		s := st.state
		subs := slices.Clone(st.subs)
		effects := slices.Clone(st.effects)
		st.mu.Unlock()
		for _, f := range subs {
			f(s, a)
		}
		for _, f := range effects {
			f(a)
		}
		st.mu.Lock()
	}
	st.busy = false
	st.mu.Unlock()
}

// SortedRemoteIDs returns remote IDs in joining order (stable).
func SortedRemoteIDs(s State) []string {
	rs := append([]Remote(nil), s.Remotes...)
	sort.SliceStable(rs, func(i, j int) bool { return rs[i].Joined.Before(rs[j].Joined) })
	ids := make([]string, len(rs))
	for i, r := range rs {
		ids[i] = r.ID
	}
	return ids
}
