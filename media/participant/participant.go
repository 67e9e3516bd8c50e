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
	"github.com/podiumhq/podium/signaling/client"
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
}

// Participant is a joined call participant.
type Participant struct {
	cfg    Config
	log    *slog.Logger
	sig    *client.Client
	pc     *webrtc.PeerConnection
	self   protocol.Participant
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	roster  map[string]protocol.Participant
	tracks  map[string]*remoteTrack // by SSRC key
	sent    SentStats
	encoder codec.ReadCloser
	room    *roomClient  // room.go: hands, stage, chat, Q&A, polls
	screen  screenShare  // screen.go: a shared screen, the second video track
	adapt   *adapter     // adapt.go: nil unless Config.Adaptive
	quality qualityState // quality.go: media states and subscriptions
}

// SentStats counts what was published.
type SentStats struct {
	VideoFrames  int
	VideoBytes   int
	AudioPackets int
}

// Join connects, joins and starts publishing and receiving. It returns
// once the server has answered the join (errors: server unreachable, join
// refused with the server's message).
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
	sig, err := client.Dial(ctx, cfg.URL)
	if err != nil {
		return nil, err
	}
	pub := &protocol.PublishBody{}
	if cfg.Video != nil {
		pub.Video = 1
	}
	if cfg.Audio != nil {
		pub.Audio = 1
	}
	if _, err := sig.Send(ctx, protocol.TypeJoin, protocol.JoinBody{Token: cfg.Token, Room: cfg.Room, Name: cfg.Name, Publish: pub}); err != nil {
		sig.Close()
		return nil, err
	}
	var joined protocol.JoinedBody
	var early []protocol.Envelope
	for joined.Self.ID == "" {
		select {
		case <-ctx.Done():
			sig.Close()
			return nil, ctx.Err()
		case env, ok := <-sig.Messages():
			if !ok {
				return nil, fmt.Errorf("signaling closed during join: %v", sig.Err())
			}
			switch env.Type {
			case protocol.TypeJoined:
				if err := json.Unmarshal(env.Body, &joined); err != nil {
					sig.Close()
					return nil, err
				}
			case protocol.TypeError:
				var e protocol.ErrorBody
				_ = json.Unmarshal(env.Body, &e)
				sig.Close()
				return nil, &protocol.Error{Code: e.Code, Message: e.Message}
			default:
				early = append(early, env)
			}
		}
	}
	apiOpts := cfg.API
	var ad *adapter
	if cfg.Adaptive && cfg.Video != nil {
		apiOpts, ad = withBWE(apiOpts, cfg.VideoBitrate+cfg.AudioBitrate)
	}
	api, err := rtcapi.New(apiOpts)
	if err != nil {
		sig.Close()
		return nil, err
	}
	pc, err := api.NewPeerConnection(webrtc.Configuration{ICEServers: iceServers(cfg.ICE, joined.ICEServers)})
	if err != nil {
		sig.Close()
		return nil, err
	}
	pctx, cancel := context.WithCancel(context.Background())
	p := &Participant{cfg: cfg, log: cfg.Logger.With("participant", joined.Self.ID), sig: sig, pc: pc, self: joined.Self,
		ctx: pctx, cancel: cancel, roster: map[string]protocol.Participant{}, tracks: map[string]*remoteTrack{}, adapt: ad}
	for _, m := range joined.Participants {
		p.roster[m.ID] = m
	}
	p.room = newRoomClient(p, joined)
	pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c == nil {
			return
		}
		j := c.ToJSON()
		_, _ = sig.Send(pctx, protocol.TypeCandidate, protocol.CandidateBody{Candidate: j.Candidate, SDPMid: j.SDPMid, SDPMLineIndex: j.SDPMLineIndex})
	})
	pc.OnTrack(p.onTrack)
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
	go p.signalLoop(early)
	return p, nil
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

// PeerConnection exposes the connection (stats, tests).
func (p *Participant) PeerConnection() *webrtc.PeerConnection { return p.pc }

// Signaling exposes the signaling client (tests send raw messages).
func (p *Participant) Signaling() *client.Client { return p.sig }

// Close leaves the room and releases everything.
func (p *Participant) Close() {
	p.cancel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	_, _ = p.sig.Send(ctx, protocol.TypeLeave, nil)
	cancel()
	_ = p.sig.Close()
	_ = p.pc.Close()
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

func (p *Participant) signalLoop(early []protocol.Envelope) {
	defer p.wg.Done()
	for _, env := range early {
		p.handle(env)
	}
	for {
		select {
		case <-p.ctx.Done():
			return
		case env, ok := <-p.sig.Messages():
			if !ok {
				p.emit(Event{Type: protocol.TypeError, Error: &protocol.ErrorBody{Code: "disconnected", Message: fmt.Sprintf("signaling connection lost: %v", p.sig.Err())}})
				return
			}
			p.handle(env)
		}
	}
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
		if err := p.pc.AddICECandidate(webrtc.ICECandidateInit{Candidate: b.Candidate, SDPMid: b.SDPMid, SDPMLineIndex: b.SDPMLineIndex}); err != nil {
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

func (p *Participant) answer(sdp string) error {
	if err := p.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: sdp}); err != nil {
		return err
	}
	ans, err := p.pc.CreateAnswer(nil)
	if err != nil {
		return err
	}
	if err := p.pc.SetLocalDescription(ans); err != nil {
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
	sender, err := p.pc.AddTransceiverFromTrack(track, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
	if err != nil {
		return err
	}
	params, err := vpx.NewVP8Params()
	if err != nil {
		return err
	}
	params.BitRate = p.cfg.VideoBitrate
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
	p.encoder = enc
	kf, _ := enc.Controller().(codec.KeyFrameController)
	if p.adapt != nil {
		p.wg.Add(1)
		go p.runAdapt(enc, w, h)
	}
	// RTCP from the SFU: key-frame requests.
	p.wg.Add(3)
	go func() {
		defer p.wg.Done()
		readKeyframeRequests(sender.Sender(), func() {
			if kf != nil {
				_ = kf.ForceKeyFrame()
			}
		})
	}()
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
			release()
			p.mu.Lock()
			p.sent.VideoFrames++
			p.sent.VideoBytes += len(b)
			p.mu.Unlock()
		}
	}()
	return nil
}

func (p *Participant) startAudio() error {
	track, err := webrtc.NewTrackLocalStaticSample(rtcapi.OpusCodec, "microphone", p.self.ID)
	if err != nil {
		return err
	}
	sender, err := p.pc.AddTransceiverFromTrack(track, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
	if err != nil {
		return err
	}
	enc, err := audio.NewEncoder(p.cfg.AudioBitrate)
	if err != nil {
		return err
	}
	p.wg.Add(2)
	go func() {
		defer p.wg.Done()
		for {
			if _, _, err := sender.Sender().ReadRTCP(); err != nil {
				return
			}
		}
	}()
	go func() {
		defer p.wg.Done()
		for p.ctx.Err() == nil {
			pcm, err := p.cfg.Audio.ReadFrame()
			if err != nil {
				return
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
	from, id, kind string
	ssrc           webrtc.SSRC
	mu             sync.Mutex
	packets        int
	bytes          int
	frames         int
	decodeErrors   int
	frameTimes     []time.Time
}

func (p *Participant) onTrack(t *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
	from := t.StreamID()
	rt := &remoteTrack{from: from, id: strings.TrimPrefix(t.ID(), from+":"), kind: t.Kind().String(), ssrc: t.SSRC()}
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

func (p *Participant) requestKeyframe(t *webrtc.TrackRemote) {
	_ = p.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: uint32(t.SSRC())}})
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
	p.requestKeyframe(t)
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
						p.requestKeyframe(t)
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
					p.requestKeyframe(t)
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
				p.requestKeyframe(t)
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
			p.requestKeyframe(t)
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
	var dec *audio.Decoder
	if p.cfg.OnAudio != nil {
		d, err := audio.NewDecoder()
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
		pcm, err := dec.Decode(pkt.Payload)
		if err != nil {
			rt.mu.Lock()
			rt.decodeErrors++
			rt.mu.Unlock()
			continue
		}
		rt.countFrame()
		p.cfg.OnAudio(rt.from, pcm)
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
}

// Stats returns statistics for every remote track, with loss and jitter
// from pion's inbound-rtp stats (jitter converted from RTP clock to ms).
func (p *Participant) Stats() []TrackStats {
	report := p.pc.GetStats()
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
		ts := TrackStats{From: rt.from, Track: rt.id, Kind: rt.kind, Packets: rt.packets, Bytes: rt.bytes, FramesDecoded: rt.frames, DecodeErrors: rt.decodeErrors}
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
