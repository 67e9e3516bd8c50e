// Package session is the desktop app's call: it joins through
// media/participant, sends the local camera and microphone wrappers,
// routes decoded video to the frame store and decoded audio to the mixer,
// plays the mix, and sums up levels and connection quality for the store.
// It has no UI code.
package session

import (
	"context"
	"errors"
	"fmt"
	"image"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/webrtc/v4"

	"github.com/podiumhq/podium/media/participant"
	"github.com/podiumhq/podium/media/rtcapi"
	"github.com/podiumhq/podium/media/source"
	"github.com/podiumhq/podium/signaling/protocol"
	"github.com/podiumhq/podium/ui/audioout"
	"github.com/podiumhq/podium/ui/devices"
	"github.com/podiumhq/podium/ui/frames"
	"github.com/podiumhq/podium/ui/mixer"
	"github.com/podiumhq/podium/ui/store"
)

// SelfID is the frame-store key of the self-view (the caller puts it
// there, after the background effect).
const SelfID = "self"

// ScreenKey is the frame-store key of id's shared screen (id SelfID: our
// own share).
func ScreenKey(id string) string { return id + "#screen" }

// ScreenTimeout: a shared screen with no frame for this long has stopped.
const ScreenTimeout = 1500 * time.Millisecond

// Config describes a call.
type Config struct {
	URL, Token, Room, Name string
	Video                  *devices.Video // nil: no video track
	// Process transforms each camera frame before encoding (virtual
	// backgrounds; participant.Config.Process).
	Process    func(*image.RGBA) image.Image
	Audio      *devices.Audio // nil: no audio track
	Speaker    string         // playback device ID ("" default)
	NoPlayback bool           // mix but play nothing (tests, benchmarks)
	Loopback   bool           // keep media on loopback (embedded host)
	// ICE are STUN/TURN servers from managed configuration, used besides
	// those the server's join answer lists.
	ICE     []webrtc.ICEServer
	Frames  *frames.Store
	OnEvent func(participant.Event)
	// OnPlaybackError is told once when no sound card can play.
	OnPlaybackError func(error)
	// Tap, when set, sees every mixed 20 ms frame (tests).
	Tap func([]int16)
	// Interceptors, when set, adds RTP interceptors nearest the network
	// (tests impair the uplink with ui/netsim).
	Interceptors func(*webrtc.MediaEngine, *interceptor.Registry) error
	Logger       *slog.Logger
}

// Session is a joined call.
type Session struct {
	cfg    Config
	p      *participant.Participant
	mix    *mixer.Mixer
	player *audioout.Player
	cancel context.CancelFunc
	wg     sync.WaitGroup
	// camOff: our camera is off by our choice; camSent what the room was
	// last told (quality.go).
	camOff  atomic.Bool
	camMu   sync.Mutex
	camSent bool
	joined  atomic.Bool // s.p is set (callbacks may run before)
	quality qualityHistory
}

// Join connects and joins. Errors are worded for the user.
func Join(ctx context.Context, cfg Config) (*Session, error) {
	if cfg.Frames == nil {
		cfg.Frames = frames.New()
	}
	s := &Session{cfg: cfg, mix: mixer.New()}
	// Adaptive: GCC bandwidth estimation and the resolution/frame-rate
	// ladder down to audio only (media/adapt); Sending reports it.
	pc := participant.Config{URL: cfg.URL, Token: cfg.Token, Room: cfg.Room, Name: cfg.Name,
		API: rtcapi.Options{LoopbackOnly: cfg.Loopback, ConfigureInterceptors: cfg.Interceptors}, ICE: cfg.ICE, Logger: cfg.Logger,
		Adaptive: true,
		OnAdapt: func(st participant.AdaptState) {
			// Coming back from audio only announces the camera on: while
			// we keep it off ourselves, say so again.
			if !st.Decision.AudioOnly() && s.camOff.Load() && s.joined.Load() {
				go s.syncCamera(true)
			}
		},
		OnVideoFrame: func(from, track string, img *image.YCbCr) {
			if track == participant.ScreenTrackID {
				from = ScreenKey(from)
			}
			cfg.Frames.Put(from, img)
		},
		OnAudio: s.mix.Push,
		OnEvent: func(e participant.Event) {
			if e.Type == protocol.TypeParticipantJoined && s.camOff.Load() && s.joined.Load() {
				go s.syncCamera(true) // the newcomer has not heard it
			}
			if e.Type == participant.EventReconnected && s.joined.Load() {
				// A new media session: subscriptions start over, and
				// the room hears our camera state again.
				s.quality.resetSubs()
				if s.camOff.Load() {
					go s.syncCamera(true)
				}
			}
			if e.Type == protocol.TypeParticipantLeft {
				s.quality.forget(e.Participant.ID)
				s.mix.Remove(e.Participant.ID)
				cfg.Frames.Remove(e.Participant.ID)
				cfg.Frames.Remove(ScreenKey(e.Participant.ID))
			}
			if cfg.OnEvent != nil {
				cfg.OnEvent(e)
			}
		}}
	if cfg.Video != nil {
		pc.Video = cfg.Video
		pc.Process = cfg.Process
	}
	if cfg.Audio != nil {
		pc.Audio = cfg.Audio
	}
	p, err := participant.Join(ctx, pc)
	if err != nil {
		return nil, Explain(cfg.URL, err)
	}
	s.p = p
	s.joined.Store(true)
	if !cfg.NoPlayback {
		pl, err := audioout.Open(cfg.Speaker)
		if err != nil {
			if cfg.OnPlaybackError != nil {
				cfg.OnPlaybackError(fmt.Errorf("no sound output (%v): you will not hear others, the call goes on", err))
			}
		} else {
			s.player = pl
		}
	}
	mctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.mix.Run(mctx, func(pcm []int16) {
			if s.player != nil {
				s.player.Write(pcm)
			}
			if cfg.Tap != nil {
				cfg.Tap(pcm)
			}
		})
	}()
	return s, nil
}

// Explain turns a join error into a message for the user.
func Explain(url string, err error) error {
	var pe *protocol.Error
	var ne net.Error
	switch {
	case errors.As(err, &pe):
		return fmt.Errorf("the server refused to let you in: %s (%s)", pe.Message, pe.Code)
	case errors.Is(err, syscall.ECONNREFUSED), errors.As(err, &ne), strings.Contains(err.Error(), "dial"):
		return fmt.Errorf("cannot reach the server at %s: is the address right and the server running? (%v)", url, err)
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("the server at %s did not answer in time", url)
	}
	return fmt.Errorf("could not join: %v", err)
}

// Self is this participant.
func (s *Session) Self() protocol.Participant { return s.p.Self() }

// Roster is everyone else.
func (s *Session) Roster() []protocol.Participant { return s.p.Roster() }

// Frames is the frame store the tiles read.
func (s *Session) Frames() *frames.Store { return s.cfg.Frames }

// Stats returns the participant's receive statistics.
func (s *Session) Stats() []participant.TrackStats { return s.p.Stats() }

// Tick sums up levels, activity and connection quality for the store.
func (s *Session) Tick() store.MediaTick {
	levels, speaker := s.mix.Levels()
	t := store.MediaTick{Remotes: map[string]store.RemoteMedia{}, ActiveSpeaker: speaker}
	if s.cfg.Audio != nil {
		t.MicLevelDB = s.cfg.Audio.LevelDB()
	}
	var screenAge time.Duration
	for _, m := range s.p.Roster() {
		if age, ok := s.cfg.Frames.Age(ScreenKey(m.ID)); ok && age < ScreenTimeout && (t.ScreenFrom == "" || age < screenAge) {
			t.ScreenFrom, screenAge = m.ID, age
		}
		rm := store.RemoteMedia{LevelDB: -127, Muted: true, HasVideo: s.cfg.Frames.Live(m.ID)}
		if l, ok := levels[m.ID]; ok {
			rm.LevelDB, rm.Muted = l.DB, l.Muted
		}
		t.Remotes[m.ID] = rm
	}
	now := time.Now()
	byFrom := map[string][]participant.TrackQuality{}
	for _, tq := range s.p.Quality() {
		byFrom[tq.From] = append(byFrom[tq.From], tq)
	}
	for id, tracks := range byFrom {
		rm, ok := t.Remotes[id]
		if !ok {
			continue
		}
		q, reason, off, offReason := remoteGrade(tracks)
		if off == "" && !rm.HasVideo && cameraPoor(tracks) {
			off = store.VideoOffQuality // frames stopped before packets did
		}
		g := s.quality.hold(id, grade{at: now, q: q, reason: reason})
		rm.Quality, rm.QualityReason, rm.VideoOff, rm.VideoOffReason = g.q, g.reason, off, offReason
		if off != "" {
			rm.HasVideo = false
		}
		for _, tq := range tracks {
			if tq.Track == participant.ScreenTrackID {
				continue
			}
			rm.Tracks = append(rm.Tracks, trackStat(tq))
			if tq.Kind == "video" {
				rm.FPS, rm.LossPct, rm.JitterMs = tq.FPS, tq.LossPct, tq.JitterMs
			} else if rm.LossPct == 0 && rm.JitterMs == 0 {
				rm.LossPct, rm.JitterMs = tq.LossPct, tq.JitterMs
			}
		}
		sortTracks(rm.Tracks)
		t.Remotes[id] = rm
	}
	snd := s.Sending()
	t.Sending = &snd
	return t
}

// Quality grades a track: good below 2 % loss and 30 ms jitter (and, for
// video, at least 20 fps), poor above 10 % loss, 100 ms jitter or below
// 8 fps, fair otherwise.
func Quality(ts participant.TrackStats) (store.Quality, float64, float64) {
	if ts.Packets == 0 {
		return store.QualityUnknown, 0, 0
	}
	loss := 100 * float64(ts.PacketsLost) / float64(ts.Packets+int(max(ts.PacketsLost, 0)))
	video := ts.Kind == "video"
	switch {
	case loss > 10 || ts.JitterMs > 100 || (video && ts.FPS < 8):
		return store.QualityPoor, loss, ts.JitterMs
	case loss < 2 && ts.JitterMs < 30 && (!video || ts.FPS >= 20):
		return store.QualityGood, loss, ts.JitterMs
	}
	return store.QualityFair, loss, ts.JitterMs
}

// StartScreenShare publishes src as this participant's shared screen.
func (s *Session) StartScreenShare(src source.Video) error { return s.p.StartScreenShare(src) }

// StopScreenShare stops sharing.
func (s *Session) StopScreenShare() { s.p.StopScreenShare() }

// Leave closes the call.
func (s *Session) Leave() {
	s.cancel()
	s.wg.Wait()
	s.p.Close()
	if s.player != nil {
		_ = s.player.Close()
	}
}
