package ui

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"image"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/podiumhq/podium/media/participant"
	"github.com/podiumhq/podium/signaling/protocol"
	"github.com/podiumhq/podium/ui/devices"
	"github.com/podiumhq/podium/ui/frames"
	"github.com/podiumhq/podium/ui/session"
	"github.com/podiumhq/podium/ui/store"
)

const selfKey = session.SelfID

// Host is a meeting server running inside the app.
type Host interface {
	URL() string
	// Invite issues an access token for room.
	Invite(room, identity, name string, role protocol.Role) (string, error)
	Shutdown()
}

// HostFunc starts the embedded server.
type HostFunc func() (Host, error)

// Controller performs the effects of actions: hosting, previews, joining
// and leaving, device switches, mute and camera toggles, saving settings.
type Controller struct {
	d  Deps
	st *store.Store
	fr *frames.Store

	mu      sync.Mutex
	host    Host
	video   *devices.Video
	audio   *devices.Audio
	vSpec   string
	aSpec   string
	preview context.CancelFunc
	prevWG  sync.WaitGroup
	sess    *session.Session
	tick    context.CancelFunc
	tickWG  sync.WaitGroup
	closed  bool
	joining bool
	bg      bgState
	screen  screenState
	// onRoom sees every server event (room.go batches room updates).
	onRoom func(participant.Event)
}

func newController(d Deps, st *store.Store, fr *frames.Store) *Controller {
	c := &Controller{d: d, st: st, fr: fr}
	st.OnAction(c.handle)
	c.startBackgrounds()
	return c
}

// Session is the current call (nil outside one).
func (c *Controller) Session() *session.Session {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sess
}

func (c *Controller) handle(a store.Action) {
	s := c.st.State()
	switch a := a.(type) {
	case store.HostRequested:
		go c.startHost()
	case store.HostStarted:
		go c.startPreview()
	case store.Navigate:
		if a.To == store.ScreenPreJoin {
			go c.startPreview()
		} else if a.To == store.ScreenStart {
			go c.stopPreview(true)
		}
	case store.UpdateSettings:
		SaveSettings(c.d.App.Preferences(), a.Settings, s.Hosting)
		go c.applyDevices(a.Settings)
		go c.applyBackground(a.Settings)
	case store.ChooseBackgroundFile:
		go c.chooseBackgroundFile(a.Path)
	case store.ToggleMic, store.ToggleCamera:
		c.applyToggles(s)
	case store.ToggleScreenShare:
		go c.toggleScreenShare()
	case store.JoinRequested:
		go c.join()
	case store.LeaveRequested:
		go c.leave("")
	case store.Left:
		if s.Screen == store.ScreenPreJoin {
			go c.startPreview()
		}
	}
}

func randomID() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func (c *Controller) startHost() {
	if c.d.Host == nil {
		c.st.Dispatch(store.Failed{Message: "Hosting is not available in this build."})
		return
	}
	c.mu.Lock()
	h := c.host
	c.mu.Unlock()
	if h == nil {
		var err error
		h, err = c.d.Host()
		if err != nil {
			c.st.Dispatch(store.Failed{Message: "Could not start the meeting server on this computer: " + err.Error()})
			return
		}
		c.mu.Lock()
		c.host = h
		c.mu.Unlock()
	}
	room := c.st.State().Settings.Room
	if room == "" {
		room = "meeting-" + randomID()
	}
	guest, err := h.Invite(room, "guest-"+randomID(), "Guest", protocol.RolePresenter)
	if err != nil {
		c.st.Dispatch(store.Failed{Message: "Could not create an invite: " + err.Error()})
		return
	}
	link := Invite{Server: h.URL(), Room: room, Token: guest}.Link()
	if c.d.InviteFile != "" {
		body := fmt.Sprintf("url=%s\nroom=%s\ninvite=%s\n", h.URL(), room, link)
		if err := os.WriteFile(c.d.InviteFile+".tmp", []byte(body), 0o600); err == nil {
			_ = os.Rename(c.d.InviteFile+".tmp", c.d.InviteFile)
		}
	}
	// The host joins its own embedded server by room and name (its
	// development mode allows that from this computer).
	c.st.Dispatch(store.HostStarted{Server: h.URL(), Room: room, Invite: link})
}

// ensureLocal creates the camera and microphone wrappers and opens the
// chosen sources (a source that fails leaves black video or silence and a
// message).
func (c *Controller) ensureLocal() (*devices.Video, *devices.Audio) {
	c.mu.Lock()
	if c.video == nil {
		// The self-view shows frames after the background effect: the
		// preview loop and the call's Process hook put them.
		c.video = devices.NewVideo(nil)
		c.video.OnError = func(err error) { c.st.Dispatch(store.Notify{Text: err.Error(), Error: true}) }
		c.vSpec = ""
	}
	if c.audio == nil {
		c.audio = devices.NewAudio(nil)
		c.audio.OnError = func(err error) { c.st.Dispatch(store.Notify{Text: err.Error(), Error: true}) }
		c.aSpec = ""
	}
	v, a := c.video, c.audio
	c.mu.Unlock()
	c.applyDevices(c.st.State().Settings)
	c.applyToggles(c.st.State())
	return v, a
}

// applyDevices reopens sources whose spec changed.
func (c *Controller) applyDevices(s store.Settings) {
	c.mu.Lock()
	v, a := c.video, c.audio
	vChange := v != nil && s.Video != c.vSpec
	aChange := a != nil && s.Audio != c.aSpec
	if vChange {
		c.vSpec = s.Video
	}
	if aChange {
		c.aSpec = s.Audio
	}
	c.mu.Unlock()
	if vChange {
		src, err := devices.OpenVideo(s.Video)
		if err != nil {
			v.Swap(nil)
			c.st.Dispatch(store.Failed{Message: err.Error() + " — sending no picture; choose another camera, a file or the test pattern."})
		} else {
			v.Swap(src)
		}
	}
	if aChange {
		src, err := devices.OpenAudio(s.Audio)
		if err != nil {
			a.Swap(nil)
			c.st.Dispatch(store.Failed{Message: err.Error() + " — sending silence; choose another microphone."})
		} else {
			a.Swap(src)
		}
	}
}

func (c *Controller) applyToggles(s store.State) {
	c.mu.Lock()
	v, a, sess := c.video, c.audio, c.sess
	c.mu.Unlock()
	muted, off := s.Settings.JoinMuted, s.Settings.JoinCameraOff
	if s.Screen == store.ScreenCall {
		muted, off = s.MicMuted, s.CameraOff
	}
	if v != nil {
		v.SetOff(off)
	}
	if sess != nil && s.Screen == store.ScreenCall {
		go sess.SetCameraOff(off) // others show "Camera off", not black
	}
	if a != nil {
		a.SetMuted(muted)
	}
}

// startPreview runs the local sources for the pre-join preview and meter.
func (c *Controller) startPreview() {
	c.mu.Lock()
	if c.preview != nil || c.sess != nil || c.closed || c.joining {
		c.mu.Unlock()
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	c.preview = cancel
	c.mu.Unlock()
	v, a := c.ensureLocal()
	c.prevWG.Add(3)
	go func() {
		defer c.prevWG.Done()
		for ctx.Err() == nil {
			img, err := v.ReadFrame()
			if err != nil {
				return
			}
			c.fr.Put(selfKey, c.process(v, img))
		}
	}()
	go func() {
		defer c.prevWG.Done()
		for ctx.Err() == nil {
			if _, err := a.ReadFrame(); err != nil {
				return
			}
		}
	}()
	go func() {
		defer c.prevWG.Done()
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				c.st.Dispatch(store.MediaTick{MicLevelDB: a.LevelDB()})
			}
		}
	}()
}

// stopPreview stops the preview loops; release closes the sources too.
func (c *Controller) stopPreview(release bool) {
	c.mu.Lock()
	cancel := c.preview
	c.preview = nil
	c.mu.Unlock()
	if cancel != nil {
		cancel()
		c.prevWG.Wait()
	}
	if release {
		c.mu.Lock()
		v, a := c.video, c.audio
		c.video, c.audio = nil, nil
		c.mu.Unlock()
		if v != nil {
			_ = v.Close()
		}
		if a != nil {
			_ = a.Close()
		}
	}
}

func isLoopback(server string) bool {
	u, err := url.Parse(server)
	if err != nil {
		return false
	}
	h := u.Hostname()
	return h == "localhost" || strings.HasPrefix(h, "127.") || h == "::1"
}

func (c *Controller) join() {
	s := c.st.State()
	if strings.TrimSpace(s.Settings.Name) == "" {
		c.st.Dispatch(store.Failed{Message: "Enter your name first."})
		return
	}
	c.mu.Lock()
	if c.joining || c.sess != nil {
		c.mu.Unlock()
		return
	}
	c.joining = true
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.joining = false
		c.mu.Unlock()
	}()
	c.stopPreview(false)
	v, a := c.ensureLocal()
	cfg := session.Config{URL: s.Settings.Server, Token: s.Token, Room: s.Settings.Room, Name: s.Settings.Name,
		Video: v, Audio: a, Process: func(img *image.RGBA) image.Image {
			out := c.process(v, img)
			c.fr.Put(selfKey, out)
			return out
		}, Speaker: s.Settings.Speaker, NoPlayback: c.d.NoPlayback, Loopback: isLoopback(s.Settings.Server),
		Frames: c.fr, Logger: c.d.Log, OnEvent: c.onEvent, ICE: managedPolicy().ICE(),
		OnPlaybackError: func(err error) { c.st.Dispatch(store.Notify{Text: err.Error(), Error: true}) }}
	if s.Token != "" {
		cfg.Room, cfg.Name = "", ""
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	sess, err := session.Join(ctx, cfg)
	cancel()
	if err != nil {
		c.st.Dispatch(store.Failed{Message: err.Error()})
		go func() {
			c.mu.Lock()
			for c.joining {
				c.mu.Unlock()
				time.Sleep(10 * time.Millisecond)
				c.mu.Lock()
			}
			c.mu.Unlock()
			c.startPreview()
		}()
		return
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		sess.Leave()
		return
	}
	c.sess = sess
	tctx, tcancel := context.WithCancel(context.Background())
	c.tick = tcancel
	c.mu.Unlock()
	c.st.Dispatch(store.Joined{SelfID: sess.Self().ID, SelfName: sess.Self().Name})
	for _, m := range sess.Roster() {
		c.st.Dispatch(store.RemoteJoined{ID: m.ID, Name: m.Name, Role: string(m.Role), Existing: true})
	}
	c.applyToggles(c.st.State())
	c.tickWG.Add(1)
	go func() {
		defer c.tickWG.Done()
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-tctx.Done():
				return
			case <-t.C:
				c.st.Dispatch(sess.Tick())
				c.applyVisibility(sess)
			}
		}
	}()
}

// applyVisibility asks the server for the video of the remotes whose
// tiles are shown and for none of the others (store.ShownRemotes).
func (c *Controller) applyVisibility(sess *session.Session) {
	shown, hidden := store.ShownRemotes(c.st.State())
	for _, id := range shown {
		if err := sess.SetVisible(id, true); err != nil {
			c.d.Log.Debug("subscribe", "participant", id, "err", err)
		}
	}
	for _, id := range hidden {
		if err := sess.SetVisible(id, false); err != nil {
			c.d.Log.Debug("subscribe", "participant", id, "err", err)
		}
	}
}

func (c *Controller) onEvent(e participant.Event) {
	if c.onRoom != nil {
		c.onRoom(e)
	}
	switch {
	case e.Type == protocol.TypeParticipantJoined:
		c.st.Dispatch(store.RemoteJoined{ID: e.Participant.ID, Name: e.Participant.Name, Role: string(e.Participant.Role)})
	case e.Type == protocol.TypeParticipantLeft:
		c.st.Dispatch(store.RemoteLeft{ID: e.Participant.ID})
	case e.Type == participant.EventReconnecting:
		// The participant reconnects by itself (resume token, new media
		// session); the call stays on screen meanwhile.
		c.st.Dispatch(store.Notify{Text: "Connection lost — reconnecting…", Error: true})
	case e.Type == participant.EventReconnected:
		c.st.Dispatch(store.Notify{Text: "Reconnected"})
	case e.Type == protocol.TypeQualityWarning && e.Warning != nil:
		what := "your network is dropping video"
		if e.Warning.Reason == protocol.ReasonCPU {
			what = "your computer cannot keep up with the camera"
		}
		c.st.Dispatch(store.Notify{Text: "Video quality lowered: " + what})
	case e.Error != nil && e.Error.Code == "disconnected":
		go c.leave("Disconnected from the server: " + e.Error.Message + ". Join again when it is back.")
	case e.Error != nil:
		c.st.Dispatch(store.Notify{Text: "Server: " + e.Error.Message, Error: true})
	}
}

func (c *Controller) leave(reason string) {
	c.mu.Lock()
	sess, tick := c.sess, c.tick
	c.sess, c.tick = nil, nil
	c.video, c.audio = nil, nil // the participant closes them
	c.mu.Unlock()
	if tick != nil {
		tick()
		c.tickWG.Wait()
	}
	if sess != nil {
		sess.Leave()
	}
	c.fr.Remove(selfKey)
	c.st.Dispatch(store.Left{Reason: reason})
}

// Shutdown leaves the call, stops previews and the embedded server.
func (c *Controller) Shutdown() {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	c.mu.Unlock()
	c.stopPreview(true)
	c.leave("")
	c.closeBackgrounds()
	c.mu.Lock()
	h := c.host
	c.host = nil
	c.mu.Unlock()
	if h != nil {
		h.Shutdown()
	}
}
