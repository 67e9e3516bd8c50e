// Package participant is a Podium call participant without a UI: it joins a
// room through the signaling client, publishes a video source (VP8) and an
// audio source (Opus), subscribes to everyone else, decodes what it
// receives and keeps per-track statistics. The headless mode of the app,
// the end-to-end tests and the desktop app's call session all use it.
package participant

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/mediadevices/pkg/codec"
	"github.com/pion/mediadevices/pkg/codec/vpx"
	"github.com/pion/mediadevices/pkg/io/video"
	"github.com/pion/mediadevices/pkg/prop"
	"github.com/pion/rtcp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"
	"github.com/pion/webrtc/v4/pkg/media/samplebuilder"

	"github.com/podiumhq/podium/media/audio"
	"github.com/podiumhq/podium/media/framestamp"
	"github.com/podiumhq/podium/media/rtcapi"
	"github.com/podiumhq/podium/media/source"
	"github.com/podiumhq/podium/signaling/protocol"
)

// Config describes how to join and what to send.
type Config struct {
	URL   string // signaling URL, ws://host:port/ws
	Token string // access token; or Room and Name with a --dev server
	Room  string
	Name  string

	Video        source.Video // nil: publish no video
	VideoBitrate int          // bit/s (default 1,000,000)
	// StampFrames writes each frame's number into its top-left corner
	// (framestamp) so receivers can match decoded frames to sent ones.
	StampFrames bool
	// Process, when set, transforms each captured frame before encoding
	// (virtual backgrounds). It may return the frame itself.
	Process func(*image.RGBA) image.Image
	// OnFrameSent sees every frame handed to the encoder, with its number.
	OnFrameSent func(n uint16, img image.Image)
	// Adaptive runs GCC bandwidth estimation and the media/adapt ladder:
	// the encoder bitrate, resolution and frame rate follow the link and
	// the CPU, down to audio only (adapt.go). OnAdapt sees each change.
	Adaptive bool
	OnAdapt  func(AdaptState)

	Audio        audio.Source // nil: publish no audio
	AudioBitrate int          // bit/s (default 32,000)

	// DecodeVideo decodes received VP8 (default true when OnVideoFrame is set).
	OnVideoFrame func(from, trackID string, img *image.YCbCr)
	// OnAudio receives decoded remote audio, 48 kHz mono.
	OnAudio func(from string, pcm []int16)
	// OnEvent receives roster changes and errors from the server.
	OnEvent func(Event)

	API    rtcapi.Options
	ICE    []webrtc.ICEServer
	Logger *slog.Logger
}

// Event is something the server told the participant.
type Event struct {
	Type        string // protocol.Type* of the message
	Participant protocol.Participant
	Error       *protocol.ErrorBody
	// Warning is set for protocol.TypeQualityWarning: the server sees this
	// participant's video arrive degraded (the ladder already reacted).
	Warning *protocol.QualityWarningBody
}

// Participant is a joined call participant.
//
// Its signaling connection is an Outbox: when the connection drops (link
// cut, server restart) it reconnects by itself with the resume token, the
// room requests made meanwhile (chat, hands, votes) are delivered once,
// and the media session is rebuilt on a new PeerConnection with the same
// tracks. While signaling stays up but ICE fails (the network changed), it
// asks the server for an ICE restart first (RFC 8445 section 9). OnEvent
// sees EventReconnecting and EventReconnected around an outage.
type Participant struct {
	cfg    Config
	log    *slog.Logger
	sig    *Outbox
	self   protocol.Participant
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	in     chan sigItem // from the outbox's reader to signalLoop, in order

	mu       sync.Mutex
	pc       *webrtc.PeerConnection // the current media session's
	api      *webrtc.API
	pcGen    int // PeerConnections made so far
	roster   map[string]protocol.Participant
	tracks   map[string]*remoteTrack // by SSRC key
	sent     SentStats
	encoder  codec.ReadCloser
	video    *webrtc.TrackLocalStaticSample // camera track (kept across reconnects)
	videoKF  codec.KeyFrameController
	audio    *webrtc.TrackLocalStaticSample
	lastRecv time.Time // last message from the server
	ice      iceWatch  // ice.go: ICE restarts
	reconns  int
	// Local candidates wait while an answer is made (sendCandidate).
	cands   rtcapi.CandidateGate
	room    *roomClient  // room.go: hands, stage, chat, Q&A, polls
	screen  screenShare  // screen.go: a shared screen, the second video track
	adapt   *adapter     // adapt.go: nil unless Config.Adaptive
	quality qualityState // quality.go: media states and subscriptions
	// cameraOff: the user turned the camera off (SetCameraOff).
	cameraOff atomic.Bool
	// audioLoss: the microphone track's loss (256ths, smoothLoss of the
	// receiver reports the SFU sends: its own for the uplink, and the
	// subscribers' worst, proxied).
	audioLoss atomic.Uint32
}

// Events about the connection itself (Event.Type).
const (
	// EventReconnecting: the signaling connection dropped; the participant
	// is reconnecting (Error says why). Media is paused meanwhile.
	EventReconnecting = "reconnecting"
	// EventReconnected: back in the room as the same participant.
	EventReconnected = "reconnected"
	// EventICERestart: ICE failed while signaling stayed up; an ICE
	// restart was asked for.
	EventICERestart = "ice-restart"
)

// sigItem is one step of the signaling stream: a message, a lost
// connection, or the joined answer of a reconnect.
type sigItem struct {
	env    protocol.Envelope
	lost   error
	joined *protocol.JoinedBody
}

// SentStats counts what was published.
type SentStats struct {
	VideoFrames  int
	VideoBytes   int
	AudioPackets int
	// AudioExpectedLoss is the loss (0 to 1) the Opus encoder is told to
	// expect, from the SFU's receiver reports: above 0 it adds in-band FEC.
	AudioExpectedLoss float64
}

// Join connects, joins and starts publishing and receiving. It returns
// once the server has answered the join (errors: server unreachable, join
// refused with the server's message). Afterwards the participant
// reconnects by itself until Close.
func Join(ctx context.Context, cfg Config) (*Participant, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.VideoBitrate == 0 {
		cfg.VideoBitrate = 1_000_000
	}
	if cfg.AudioBitrate == 0 {
		cfg.AudioBitrate = 32_000
	}
	p := &Participant{cfg: cfg, in: make(chan sigItem, 4096), roster: map[string]protocol.Participant{}, tracks: map[string]*remoteTrack{}}
	p.ctx, p.cancel = context.WithCancel(context.Background())
	sig, err := DialOutbox(ctx, OutboxConfig{
		URL: cfg.URL, Token: cfg.Token, Logger: cfg.Logger,
		Backoff: 200 * time.Millisecond, MaxBackoff: 3 * time.Second,
		Join:         p.joinBody,
		OnMessage:    func(env protocol.Envelope) { p.push(sigItem{env: env}) },
		OnDisconnect: func(err error) { p.push(sigItem{lost: orErr(err)}) },
		OnJoined:     func(j protocol.JoinedBody) { p.push(sigItem{joined: &j}) },
	})
	if err != nil {
		p.cancel()
		return nil, err
	}
	p.sig = sig
	joined := sig.Joined()
	p.self = joined.Self
	p.log = cfg.Logger.With("participant", joined.Self.ID)
	for _, m := range joined.Participants {
		p.roster[m.ID] = m
	}
	apiOpts := cfg.API
	if cfg.Adaptive && cfg.Video != nil {
		apiOpts, p.adapt = withBWE(apiOpts, cfg.VideoBitrate+cfg.AudioBitrate)
	}
	if p.api, err = rtcapi.New(apiOpts); err != nil {
		p.Close()
		return nil, err
	}
	p.room = newRoomClient(p, joined)
	if err := p.newPeerConnection(joined); err != nil {
		p.Close()
		return nil, err
	}
	if cfg.Video != nil {
		if err := p.startVideo(); err != nil {
			p.Close()
			return nil, err
		}
	}
	if cfg.Audio != nil {
		if err := p.startAudio(); err != nil {
			p.Close()
			return nil, err
		}
	}
	p.wg.Add(1)
	go p.signalLoop()
	return p, nil
}

func orErr(err error) error {
	if err == nil {
		return errors.New("connection closed")
	}
	return err
}

// joinBody is the join request: the resume token when there is one, and
// receive slots for every track this participant sends (a running screen
// share included).
func (p *Participant) joinBody(resume string) protocol.JoinBody {
	pub := &protocol.PublishBody{}
	if p.cfg.Video != nil {
		pub.Video = 1
	}
	if p.cfg.Audio != nil {
		pub.Audio = 1
	}
	p.screen.mu.Lock()
	if p.screen.track != nil {
		pub.Video++
	}
	p.screen.mu.Unlock()
	return protocol.JoinBody{Token: p.cfg.Token, Room: p.cfg.Room, Name: p.cfg.Name, Publish: pub, Resume: resume}
}

// push hands a signaling step to signalLoop (blocks only if 4,096 are
// waiting, rather than drop one).
func (p *Participant) push(it sigItem) {
	select {
	case p.in <- it:
	case <-p.ctx.Done():
	}
}

// newPeerConnection makes the media session's PeerConnection and adds the
// tracks already published (a reconnect). The previous one is closed.
func (p *Participant) newPeerConnection(j protocol.JoinedBody) error {
	pc, err := p.api.NewPeerConnection(webrtc.Configuration{ICEServers: iceServers(p.cfg.ICE, j.ICEServers)})
	if err != nil {
		return err
	}
	p.mu.Lock()
	old := p.pc
	p.pc = pc
	p.pcGen++
	gen := p.pcGen
	video, kf, aud := p.video, p.videoKF, p.audio
	for k, rt := range p.tracks {
		if rt.pc == old {
			delete(p.tracks, k)
		}
	}
	p.mu.Unlock()
	if old != nil {
		_ = old.Close()
	}
	pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c != nil {
			p.sendCandidate(c.ToJSON())
		}
	})
	pc.OnTrack(func(t *webrtc.TrackRemote, _ *webrtc.RTPReceiver) { p.onTrack(pc, t) })
	pc.OnICEConnectionStateChange(func(st webrtc.ICEConnectionState) { p.onICEState(gen, st) })
	if video != nil {
		if err := p.addVideoSender(pc, video, func() {
			if kf != nil {
				_ = kf.ForceKeyFrame()
			}
		}); err != nil {
			return err
		}
	}
	if aud != nil {
		if err := p.addAudioSender(pc, aud); err != nil {
			return err
		}
	}
	if err := p.reattachScreen(pc); err != nil {
		p.log.Warn("screen share lost on reconnect", "err", err)
	}
	return nil
}

// Self is this participant as the server knows it.
func (p *Participant) Self() protocol.Participant { return p.self }

// Roster returns the other participants.
func (p *Participant) Roster() []protocol.Participant {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]protocol.Participant, 0, len(p.roster))
	for _, m := range p.roster {
		out = append(out, m)
	}
	return out
}

// PeerConnection exposes the current connection (stats, tests); a
// reconnect replaces it.
func (p *Participant) PeerConnection() *webrtc.PeerConnection {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.pc
}

// Signaling exposes the signaling outbox (tests send raw messages and cut
// connections).
func (p *Participant) Signaling() *Outbox { return p.sig }

// Reconnects counts signaling reconnects since Join.
func (p *Participant) Reconnects() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.reconns
}

// Close leaves the room and releases everything.
func (p *Participant) Close() {
	if p.sig != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_ = p.sig.Leave(ctx)
		cancel()
	}
	p.cancel()
	if pc := p.PeerConnection(); pc != nil {
		_ = pc.Close()
	}
	if p.cfg.Video != nil {
		_ = p.cfg.Video.Close()
	}
	if p.cfg.Audio != nil {
		_ = p.cfg.Audio.Close()
	}
	p.wg.Wait()
	p.mu.Lock()
	if p.encoder != nil {
		_ = p.encoder.Close()
		p.encoder = nil
	}
	p.mu.Unlock()
}

// livenessTimeout: with pings every 5 s, this long without any message
// from the server means the link is dead even if the socket has not
// noticed (TCP can take minutes); the participant reconnects.
const livenessTimeout = 15 * time.Second

func (p *Participant) signalLoop() {
	defer p.wg.Done()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	p.mu.Lock()
	p.lastRecv = time.Now()
	p.mu.Unlock()
	connected := true
	for {
		select {
		case <-p.ctx.Done():
			return
		case <-tick.C:
			p.mu.Lock()
			silent := time.Since(p.lastRecv)
			p.mu.Unlock()
			if connected && silent > livenessTimeout {
				p.log.Warn("no message from the server; reconnecting", "silent", silent.Round(time.Millisecond))
				p.sig.Reconnect()
			}
			p.checkICE()
		case it := <-p.in:
			p.mu.Lock()
			p.lastRecv = time.Now()
			p.mu.Unlock()
			switch {
			case it.lost != nil:
				connected = false
				if err := p.sig.Err(); err != nil {
					p.emit(Event{Type: protocol.TypeError, Error: &protocol.ErrorBody{Code: "disconnected", Message: fmt.Sprintf("signaling connection lost: %v", err)}})
					return
				}
				p.log.Info("signaling lost; reconnecting", "err", it.lost)
				p.emit(Event{Type: EventReconnecting, Error: &protocol.ErrorBody{Code: "reconnecting", Message: it.lost.Error()}})
				go p.watchGiveUp()
			case it.joined != nil:
				connected = true
				p.rejoined(*it.joined)
			default:
				p.handle(it.env)
			}
		}
	}
}

// watchGiveUp reports the end of the call when the outbox gives up for
// good (the rejoin was refused).
func (p *Participant) watchGiveUp() {
	for p.ctx.Err() == nil {
		if err := p.sig.Err(); err != nil {
			p.emit(Event{Type: protocol.TypeError, Error: &protocol.ErrorBody{Code: "disconnected", Message: fmt.Sprintf("cannot rejoin: %v", err)}})
			return
		}
		select {
		case <-p.sig.Connected():
			return
		case <-p.ctx.Done():
			return
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// rejoined rebuilds the session after a reconnect: roster, room state and
// a new PeerConnection (the server closed the old media session).
func (p *Participant) rejoined(j protocol.JoinedBody) {
	p.mu.Lock()
	p.reconns++
	p.self = j.Self
	was := p.roster
	p.roster = map[string]protocol.Participant{}
	for _, m := range j.Participants {
		p.roster[m.ID] = m
	}
	now := p.roster
	p.mu.Unlock()
	p.room.reset(j)
	if err := p.newPeerConnection(j); err != nil {
		p.log.Error("cannot rebuild the media session; reconnecting again", "err", err)
		p.sig.Reconnect()
		return
	}
	for id, m := range was {
		if _, ok := now[id]; !ok {
			p.emit(Event{Type: protocol.TypeParticipantLeft, Participant: m})
		}
	}
	for id, m := range now {
		if _, ok := was[id]; !ok {
			p.emit(Event{Type: protocol.TypeParticipantJoined, Participant: m})
		}
	}
	p.log.Info("reconnected", "participant", j.Self.ID)
	p.emit(Event{Type: EventReconnected})
	p.quality.resend(p)
}

func (p *Participant) emit(e Event) {
	if p.cfg.OnEvent != nil {
		p.cfg.OnEvent(e)
	}
}

func (p *Participant) handle(env protocol.Envelope) {
	if p.room.handle(env) {
		return
	}
	if p.handleQuality(env) {
		return
	}
	switch env.Type {
	case protocol.TypeOffer:
		var b protocol.SDPBody
		if json.Unmarshal(env.Body, &b) != nil {
			return
		}
		if err := p.answer(b.SDP); err != nil {
			p.log.Warn("cannot answer offer", "err", err)
		}
	case protocol.TypeCandidate:
		var b protocol.CandidateBody
		if json.Unmarshal(env.Body, &b) != nil {
			return
		}
		if err := p.PeerConnection().AddICECandidate(webrtc.ICECandidateInit{Candidate: b.Candidate, SDPMid: b.SDPMid, SDPMLineIndex: b.SDPMLineIndex}); err != nil {
			p.log.Debug("add candidate", "err", err)
		}
	case protocol.TypeParticipantJoined:
		var m protocol.Participant
		if json.Unmarshal(env.Body, &m) != nil {
			return
		}
		p.mu.Lock()
		p.roster[m.ID] = m
		p.mu.Unlock()
		p.emit(Event{Type: env.Type, Participant: m})
	case protocol.TypeParticipantLeft:
		var b protocol.ParticipantLeftBody
		if json.Unmarshal(env.Body, &b) != nil {
			return
		}
		p.mu.Lock()
		m := p.roster[b.ID]
		delete(p.roster, b.ID)
		p.mu.Unlock()
		if m.ID == "" {
			m.ID = b.ID
		}
		p.emit(Event{Type: env.Type, Participant: m})
	case protocol.TypeError:
		var e protocol.ErrorBody
		_ = json.Unmarshal(env.Body, &e)
		p.log.Info("server error", "code", e.Code, "msg", e.Message)
		p.emit(Event{Type: env.Type, Error: &e})
	}
}

// sendCandidate trickles a local candidate (RFC 8838), or holds it while
// an answer is being made: after an ICE restart it carries the new ufrag,
// which the server cannot match before it has the answer.
func (p *Participant) sendCandidate(j webrtc.ICECandidateInit) {
	p.cands.Send(j, p.signalCandidate)
}

func (p *Participant) signalCandidate(j webrtc.ICECandidateInit) {
	_, _ = p.sig.Send(p.ctx, protocol.TypeCandidate, protocol.CandidateBody{Candidate: j.Candidate, SDPMid: j.SDPMid, SDPMLineIndex: j.SDPMLineIndex})
}

func (p *Participant) answer(sdp string) error {
	p.cands.Hold()
	defer p.cands.Release(p.signalCandidate)
	pc := p.PeerConnection()
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: sdp}); err != nil {
		return err
	}
	ans, err := pc.CreateAnswer(nil)
	if err != nil {
		return err
	}
	if err := pc.SetLocalDescription(ans); err != nil {
		return err
	}
	_, err = p.sig.Send(p.ctx, protocol.TypeAnswer, protocol.SDPBody{SDP: ans.SDP})
	return err
}

// ---- publishing ----

func (p *Participant) startVideo() error {
	src := p.cfg.Video
	w, h := src.Size()
	track, err := webrtc.NewTrackLocalStaticSample(rtcapi.VP8Codec, "camera", p.self.ID)
	if err != nil {
		return err
	}
	params, err := vpx.NewVP8Params()
	if err != nil {
		return err
	}
	params.BitRate = vp8Bitrate(p.cfg.VideoBitrate, src.FPS())
	params.KeyFrameInterval = int(src.FPS() * 4)
	params.RateControlEndUsage = vpx.RateControlCBR
	params.ErrorResilient = vpx.ErrorResilientDefault
	params.LagInFrames = 0
	slot := make(chan image.Image, 1) // latest frame wins
	reader := video.ReaderFunc(func() (image.Image, func(), error) {
		select {
		case img := <-slot:
			p.adapt.encodeStart(time.Now())
			return img, func() {}, nil
		case <-p.ctx.Done():
			return nil, func() {}, context.Canceled
		}
	})
	var enc codec.ReadCloser
	if p.adapt != nil {
		enc, err = newResizingEncoder(params, reader, w, h, float32(src.FPS()))
	} else {
		enc, err = params.BuildVideoEncoder(reader, prop.Media{Video: prop.Video{Width: w, Height: h, FrameRate: float32(src.FPS())}})
	}
	if err != nil {
		return err
	}
	kf, _ := enc.Controller().(codec.KeyFrameController)
	p.mu.Lock()
	p.encoder, p.video, p.videoKF = enc, track, kf
	pc := p.pc
	p.mu.Unlock()
	if err := p.addVideoSender(pc, track, func() {
		if kf != nil {
			_ = kf.ForceKeyFrame()
		}
	}); err != nil {
		return err
	}
	if p.adapt != nil {
		p.wg.Add(1)
		go p.runAdapt(enc, w, h)
	}
	p.wg.Add(2)
	// Capture: source -> stamp -> process -> slot.
	go func() {
		defer p.wg.Done()
		var n uint16
		for p.ctx.Err() == nil {
			img, err := src.ReadFrame()
			if err != nil {
				if !errors.Is(err, source.ErrClosed) {
					p.log.Warn("video source", "err", err)
				}
				return
			}
			if p.cfg.StampFrames {
				framestamp.Stamp(img, n)
			}
			var out image.Image = img
			if p.cfg.Process != nil {
				out = p.cfg.Process(img)
			}
			out, keep := p.adapt.filter(out, time.Now())
			if !keep {
				continue
			}
			if p.cfg.OnFrameSent != nil {
				p.cfg.OnFrameSent(n, out)
			}
			n++
			select {
			case <-slot: // drop the older frame
			default:
			}
			slot <- out
		}
	}()
	// Encode -> track.
	go func() {
		defer p.wg.Done()
		last := time.Now()
		var pad padder
		for {
			b, release, err := enc.Read()
			if err != nil {
				if p.ctx.Err() == nil {
					p.log.Warn("video encoder stopped", "err", err)
				}
				return
			}
			now := time.Now()
			p.adapt.encodeDone(len(b), now)
			_ = track.WriteSample(media.Sample{Data: b, Duration: now.Sub(last)})
			last = now
			// A bandwidth probe's padding goes right after the frame, on
			// the same packetizer (one goroutine: no race on its state).
			if p.adapt != nil {
				if n := pad.step(p.adapt.padRate.Load(), now); n > 0 && track.GeneratePadding(uint32(n)) == nil {
					p.adapt.padBytes.Add(int64(n * padPacketBytes))
				}
			}
			release()
			p.mu.Lock()
			p.sent.VideoFrames++
			p.sent.VideoBytes += len(b)
			p.mu.Unlock()
		}
	}()
	return nil
}

// addVideoSender sends the camera track on pc; key-frame requests from
// the SFU call force. The RTCP reader ends with pc.
func (p *Participant) addVideoSender(pc *webrtc.PeerConnection, track *webrtc.TrackLocalStaticSample, force func()) error {
	tr, err := pc.AddTransceiverFromTrack(track, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
	if err != nil {
		return err
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		readKeyframeRequests(tr.Sender(), force)
	}()
	return nil
}

// addAudioSender sends the microphone track on pc and reads its RTCP: the
// loss that receiver reports give for it is what the Opus encoder is told
// to expect (audioLoss).
func (p *Participant) addAudioSender(pc *webrtc.PeerConnection, track *webrtc.TrackLocalStaticSample) error {
	tr, err := pc.AddTransceiverFromTrack(track, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
	if err != nil {
		return err
	}
	snd := tr.Sender()
	var ssrc uint32
	if enc := snd.GetParameters().Encodings; len(enc) > 0 {
		ssrc = uint32(enc[0].SSRC)
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			pkts, _, err := snd.ReadRTCP()
			if err != nil {
				return
			}
			for _, pkt := range pkts {
				rr, ok := pkt.(*rtcp.ReceiverReport)
				if !ok {
					continue
				}
				for _, r := range rr.Reports {
					if r.SSRC == ssrc {
						p.audioLoss.Store(smoothLoss(p.audioLoss.Load(), r.FractionLost))
					}
				}
			}
		}
	}()
	return nil
}

// smoothLoss follows a receiver report's fraction lost (RFC 3550 section
// 6.4.1, in 256ths) up at once and down by a quarter per report, so that
// FEC stays on through the quiet seconds between bursts of loss.
func smoothLoss(prev uint32, fraction uint8) uint32 {
	return max(uint32(fraction), prev*3/4)
}

func (p *Participant) startAudio() error {
	track, err := webrtc.NewTrackLocalStaticSample(rtcapi.OpusCodec, "microphone", p.self.ID)
	if err != nil {
		return err
	}
	enc, err := audio.NewEncoder(p.cfg.AudioBitrate)
	if err != nil {
		return err
	}
	p.mu.Lock()
	p.audio = track
	pc := p.pc
	p.mu.Unlock()
	if err := p.addAudioSender(pc, track); err != nil {
		return err
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		lastLoss := uint32(0)
		for p.ctx.Err() == nil {
			pcm, err := p.cfg.Audio.ReadFrame()
			if err != nil {
				return
			}
			if l := p.audioLoss.Load(); l != lastLoss {
				_ = enc.SetExpectedLoss(float64(l) / 256)
				lastLoss = l
				p.mu.Lock()
				p.sent.AudioExpectedLoss = float64(l) / 256
				p.mu.Unlock()
			}
			pkt, err := enc.Encode(pcm)
			if err != nil {
				p.log.Warn("opus encode", "err", err)
				continue
			}
			_ = track.WriteSample(media.Sample{Data: pkt, Duration: audio.FrameDuration})
			p.mu.Lock()
			p.sent.AudioPackets++
			p.mu.Unlock()
		}
	}()
	return nil
}

// Sent returns what was published so far.
func (p *Participant) Sent() SentStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.sent
}

// ---- receiving ----

type remoteTrack struct {
	pc             *webrtc.PeerConnection
	from, id, kind string
	ssrc           webrtc.SSRC
	mu             sync.Mutex
	packets        int
	bytes          int
	frames         int
	decodeErrors   int
	frameTimes     []time.Time
	// Audio frames lost and filled: from the next packet's FEC, or by
	// concealment (audio.Stream).
	recovered, concealed int
}

func (p *Participant) onTrack(pc *webrtc.PeerConnection, t *webrtc.TrackRemote) {
	from := t.StreamID()
	rt := &remoteTrack{pc: pc, from: from, id: strings.TrimPrefix(t.ID(), from+":"), kind: t.Kind().String(), ssrc: t.SSRC()}
	p.mu.Lock()
	p.tracks[fmt.Sprint(t.SSRC())] = rt
	p.mu.Unlock()
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		if t.Kind() == webrtc.RTPCodecTypeVideo {
			p.receiveVideo(t, rt)
		} else {
			p.receiveAudio(t, rt)
		}
	}()
}

func (p *Participant) requestKeyframe(rt *remoteTrack, t *webrtc.TrackRemote) {
	_ = rt.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: uint32(t.SSRC())}})
}

// frameQueue feeds whole VP8 frames to the vpx decoder, one per Read.
type frameQueue struct {
	ch  chan []byte
	ctx context.Context
}

func (q *frameQueue) Read(b []byte) (int, error) {
	select {
	case f, ok := <-q.ch:
		if !ok {
			return 0, errors.New("track ended")
		}
		if len(f) > len(b) {
			return 0, errors.New("frame larger than decoder buffer")
		}
		return copy(b, f), nil
	case <-q.ctx.Done():
		return 0, q.ctx.Err()
	}
}

func isVP8Keyframe(frame []byte) bool { return len(frame) > 0 && frame[0]&0x01 == 0 }

func (p *Participant) receiveVideo(t *webrtc.TrackRemote, rt *remoteTrack) {
	sb := samplebuilder.New(512, &codecs.VP8Packet{}, 90000, samplebuilder.WithMaxTimeDelay(time.Second))
	q := &frameQueue{ch: make(chan []byte, 8), ctx: p.ctx}
	decode := p.cfg.OnVideoFrame != nil
	if decode {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			p.decodeLoop(t, rt, q)
		}()
	}
	defer close(q.ch)
	p.requestKeyframe(rt, t)
	waitingKey := true
	lastPLI := time.Now()
	for {
		pkt, _, err := t.ReadRTP()
		if err != nil {
			return
		}
		rt.mu.Lock()
		rt.packets++
		rt.bytes += len(pkt.Payload) + 12
		rt.mu.Unlock()
		sb.Push(pkt)
		for s := sb.Pop(); s != nil; s = sb.Pop() {
			if waitingKey {
				if !isVP8Keyframe(s.Data) {
					if time.Since(lastPLI) > 500*time.Millisecond {
						p.requestKeyframe(rt, t)
						lastPLI = time.Now()
					}
					continue
				}
				waitingKey = false
			}
			if s.PrevDroppedPackets > 0 {
				// A gap: the decoder would show corruption; wait for a key frame.
				waitingKey = !isVP8Keyframe(s.Data)
				if waitingKey {
					p.requestKeyframe(rt, t)
					lastPLI = time.Now()
					continue
				}
			}
			if !decode {
				rt.countFrame()
				continue
			}
			select {
			case q.ch <- s.Data:
			default: // decoder behind: drop, and resync on a key frame
				waitingKey = true
				p.requestKeyframe(rt, t)
				lastPLI = time.Now()
			}
		}
	}
}

func (rt *remoteTrack) countFrame() {
	rt.mu.Lock()
	rt.frames++
	now := time.Now()
	rt.frameTimes = append(rt.frameTimes, now)
	for len(rt.frameTimes) > 0 && now.Sub(rt.frameTimes[0]) > time.Second {
		rt.frameTimes = rt.frameTimes[1:]
	}
	rt.mu.Unlock()
}

func (p *Participant) decodeLoop(t *webrtc.TrackRemote, rt *remoteTrack, q *frameQueue) {
	dec, err := vpx.NewDecoder(q, prop.Media{})
	if err != nil {
		p.log.Error("vp8 decoder", "err", err)
		return
	}
	defer dec.Close()
	for {
		img, release, err := dec.Read()
		if err != nil {
			if p.ctx.Err() != nil || strings.Contains(err.Error(), "track ended") {
				return
			}
			rt.mu.Lock()
			rt.decodeErrors++
			rt.mu.Unlock()
			p.requestKeyframe(rt, t)
			continue
		}
		rt.countFrame()
		if yc, ok := img.(*image.YCbCr); ok {
			p.cfg.OnVideoFrame(rt.from, rt.id, yc)
		}
		if release != nil {
			release()
		}
	}
}

func (p *Participant) receiveAudio(t *webrtc.TrackRemote, rt *remoteTrack) {
	var dec *audio.Stream // fills lost frames (FEC, concealment)
	if p.cfg.OnAudio != nil {
		d, err := audio.NewStream()
		if err != nil {
			p.log.Error("opus decoder", "err", err)
		}
		dec = d
	}
	for {
		pkt, _, err := t.ReadRTP()
		if err != nil {
			return
		}
		rt.mu.Lock()
		rt.packets++
		rt.bytes += len(pkt.Payload) + 12
		rt.mu.Unlock()
		if dec == nil || len(pkt.Payload) == 0 {
			continue
		}
		frames, err := dec.Decode(pkt.SequenceNumber, pkt.Payload)
		rt.mu.Lock()
		if err != nil {
			rt.decodeErrors++
		}
		rt.recovered, rt.concealed = dec.Recovered, dec.Concealed
		rt.mu.Unlock()
		for _, pcm := range frames {
			rt.countFrame()
			p.cfg.OnAudio(rt.from, pcm)
		}
	}
}

// TrackStats are one remote track's receive statistics.
type TrackStats struct {
	From          string  `json:"from"`
	Track         string  `json:"track"`
	Kind          string  `json:"kind"`
	Packets       int     `json:"packets"`
	Bytes         int     `json:"bytes"`
	PacketsLost   int64   `json:"packetsLost"`
	JitterMs      float64 `json:"jitterMs"`
	FramesDecoded int     `json:"framesDecoded"`
	DecodeErrors  int     `json:"decodeErrors"`
	FPS           float64 `json:"fps"`
	// FECRecovered and Concealed count audio frames lost and filled, from
	// the next packet's in-band FEC or by concealment (audio.Stream).
	FECRecovered int `json:"fecRecovered"`
	Concealed    int `json:"concealed"`
}

// Stats returns statistics for every remote track, with loss and jitter
// from pion's inbound-rtp stats (jitter converted from RTP clock to ms).
func (p *Participant) Stats() []TrackStats {
	report := p.PeerConnection().GetStats()
	inbound := map[uint32]webrtc.InboundRTPStreamStats{}
	for _, s := range report {
		if in, ok := s.(webrtc.InboundRTPStreamStats); ok {
			inbound[uint32(in.SSRC)] = in
		}
	}
	p.mu.Lock()
	tracks := make([]*remoteTrack, 0, len(p.tracks))
	for _, rt := range p.tracks {
		tracks = append(tracks, rt)
	}
	p.mu.Unlock()
	out := make([]TrackStats, 0, len(tracks))
	for _, rt := range tracks {
		rt.mu.Lock()
		ts := TrackStats{From: rt.from, Track: rt.id, Kind: rt.kind, Packets: rt.packets, Bytes: rt.bytes, FramesDecoded: rt.frames, DecodeErrors: rt.decodeErrors,
			FECRecovered: rt.recovered, Concealed: rt.concealed}
		now := time.Now()
		n := 0
		for _, ft := range rt.frameTimes {
			if now.Sub(ft) <= time.Second {
				n++
			}
		}
		ts.FPS = float64(n)
		rt.mu.Unlock()
		if in, ok := inbound[uint32(rt.ssrc)]; ok {
			ts.PacketsLost = int64(in.PacketsLost)
			ts.JitterMs = in.Jitter * 1000
		}
		out = append(out, ts)
	}
	return out
}

// readKeyframeRequests drains a sender's RTCP (so the interceptors see
// NACKs and reports) and calls force on each PLI or FIR (RFC 4585 6.3.1,
// RFC 5104 4.3.1), until the sender closes.
func readKeyframeRequests(snd *webrtc.RTPSender, force func()) {
	for {
		pkts, _, err := snd.ReadRTCP()
		if err != nil {
			return
		}
		for _, pk := range pkts {
			switch pk.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				force()
			}
		}
	}
}
