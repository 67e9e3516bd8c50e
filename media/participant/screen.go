package participant

// Screen sharing: a second VP8 video track with track ID "screen".
//
// The participant is the answerer of every negotiation, so it cannot add an
// m-line itself. The first StartScreenShare adds a send-only transceiver
// (not yet in any SDP), then sends `publish` {video: 1}; the server adds a
// receive slot and sends a new offer, whose fresh recvonly video m-line pion
// pairs with that unassociated send-only transceiver when answering. The
// transceiver is added before `publish` so the offer cannot arrive first.
//
// StopScreenShare stops capture and encoding but keeps the transceiver and
// its track: the SFU keeps forwarding the (now silent) track, subscribers
// see its frames stop (the desktop app drops the large view after a second
// without screen frames), and a later StartScreenShare resumes on the same
// track and RTP stream with a new key frame — no renegotiation, no server
// change.

import (
	"context"
	"errors"
	"image"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/mediadevices/pkg/codec"
	"github.com/pion/mediadevices/pkg/codec/vpx"
	"github.com/pion/mediadevices/pkg/io/video"
	"github.com/pion/mediadevices/pkg/prop"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"

	"github.com/podiumhq/podium/media/rtcapi"
	"github.com/podiumhq/podium/media/source"
	"github.com/podiumhq/podium/signaling/protocol"
)

// ScreenTrackID is the track ID of a shared screen (receivers get it as
// the trackID of Config.OnVideoFrame).
const ScreenTrackID = "screen"

// ScreenBitrate is the shared screen's highest VP8 bitrate (bit/s). With
// Config.Adaptive the share gets its part of GCC's estimate instead
// (screenPart), at most this.
var ScreenBitrate = 1_500_000

const (
	// screenShareFraction is the share of the estimate a running screen
	// share takes before the camera: what a webinar's audience watches
	// is the shared screen (Zoom and Teams also favour it).
	screenShareFraction = 0.6
	// screenAloneFraction is its share while the camera is off (audio and
	// the camera's black frames keep the rest).
	screenAloneFraction = 0.9
	// minScreenBitrate keeps a 1280x720 share legible when the estimate
	// is low (bit/s).
	minScreenBitrate = 150_000
	// minEncoderBitrate is the least the share's encoder is asked for
	// when the estimate leaves it nothing (bit/s).
	minEncoderBitrate = 30_000
)

// screenPart is the screen share's part of a bandwidth estimate est
// (bit/s) once audio (bit/s) is paid for: screenShareFraction of what is
// left (screenAloneFraction when the camera is off), between
// minScreenBitrate and ScreenBitrate, and never more than what is left.
func screenPart(est, audio int, cameraOff bool) int {
	f := screenShareFraction
	if cameraOff {
		f = screenAloneFraction
	}
	left := max(est-audio, 0)
	return min(max(int(float64(left)*f), minScreenBitrate), ScreenBitrate, left)
}

// ErrClosed is returned when the participant has left.
var ErrClosed = errors.New("participant: closed")

type screenShare struct {
	mu     sync.Mutex
	track  *webrtc.TrackLocalStaticSample
	sender *webrtc.RTPSender
	fps    float64
	rate   int // the running share's bitrate (bit/s); 0 when not sharing
	// A new bitrate (libvpx's, vp8Bitrate) and a key-frame request wait
	// here for the encode goroutine: mediadevices' encoder holds its lock
	// while Read waits for a frame, so calling it from elsewhere blocks
	// for up to a frame, or for good if the source stalls.
	pendingRate atomic.Int64
	pendingKF   atomic.Bool
	src         source.Video
	enc         codec.ReadCloser
	cancel      context.CancelFunc
	done        *sync.WaitGroup // the running share's goroutines
	frames      int
}

// StartScreenShare publishes src as the "screen" track (replacing a share
// already running). src is closed by StopScreenShare or Close.
func (p *Participant) StartScreenShare(src source.Video) error {
	s := &p.screen
	s.mu.Lock()
	defer s.mu.Unlock()
	if p.ctx.Err() != nil {
		return ErrClosed
	}
	s.stopLocked()
	if s.track == nil {
		if err := p.addScreenTransceiver(); err != nil {
			return err
		}
	}
	w, h := src.Size()
	fps := src.FPS()
	if fps <= 0 {
		fps = 15
	}
	params, err := vpx.NewVP8Params()
	if err != nil {
		return err
	}
	rate := ScreenBitrate
	if p.adapt != nil {
		rate = screenPart(p.adapt.estimate(p.cfg.VideoBitrate+p.cfg.AudioBitrate), p.cfg.AudioBitrate, p.cameraOff.Load())
	}
	params.BitRate = vp8Bitrate(max(rate, minEncoderBitrate), fps)
	params.KeyFrameInterval = int(fps * 4)
	params.RateControlEndUsage = vpx.RateControlCBR
	params.ErrorResilient = vpx.ErrorResilientDefault
	params.LagInFrames = 0
	ctx, cancel := context.WithCancel(p.ctx)
	slot := make(chan image.Image, 1) // latest frame wins
	reader := video.ReaderFunc(func() (image.Image, func(), error) {
		select {
		case img := <-slot:
			return img, func() {}, nil
		case <-ctx.Done():
			return nil, func() {}, context.Canceled
		}
	})
	enc, err := params.BuildVideoEncoder(reader, prop.Media{Video: prop.Video{Width: w, Height: h, FrameRate: float32(fps)}})
	if err != nil {
		cancel()
		return err
	}
	kf, _ := enc.Controller().(codec.KeyFrameController)
	br, _ := enc.Controller().(codec.BitRateController)
	s.fps, s.rate = fps, rate
	s.pendingRate.Store(0)
	wg := &sync.WaitGroup{}
	s.src, s.enc, s.cancel, s.done = src, enc, cancel, wg
	track := s.track
	wg.Add(2)
	go func() { // capture
		defer wg.Done()
		for ctx.Err() == nil {
			img, err := src.ReadFrame()
			if err != nil {
				if ctx.Err() == nil && !errors.Is(err, source.ErrClosed) {
					p.log.Warn("screen source", "err", err)
				}
				return
			}
			select {
			case <-slot:
			default:
			}
			slot <- img
		}
	}()
	go func() { // encode -> track
		defer wg.Done()
		last := time.Now()
		first := true
		for {
			b, release, err := enc.Read()
			if err != nil {
				return
			}
			now := time.Now()
			d := now.Sub(last)
			if first {
				d, first = time.Duration(float64(time.Second)/fps), false
			}
			_ = track.WriteSample(media.Sample{Data: b, Duration: d})
			last = now
			release()
			if r := s.pendingRate.Swap(0); r > 0 && br != nil {
				_ = br.SetBitRate(int(r))
			}
			if s.pendingKF.Swap(false) && kf != nil {
				_ = kf.ForceKeyFrame()
			}
			s.mu.Lock()
			s.frames++
			s.mu.Unlock()
		}
	}()
	return nil
}

// addScreenTransceiver adds the send-only transceiver, then asks the server
// for a receive slot (s.mu held).
func (p *Participant) addScreenTransceiver() error {
	s := &p.screen
	track, err := webrtc.NewTrackLocalStaticSample(rtcapi.VP8Codec, ScreenTrackID, p.self.ID)
	if err != nil {
		return err
	}
	pc := p.PeerConnection()
	tr, err := pc.AddTransceiverFromTrack(track, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(p.ctx, 5*time.Second)
	_, err = p.sig.Send(ctx, protocol.TypePublish, protocol.PublishBody{Video: 1})
	cancel()
	if err != nil {
		_ = pc.RemoveTrack(tr.Sender())
		return err
	}
	s.track, s.sender = track, tr.Sender()
	// Leaving stops the share (and closes its source).
	context.AfterFunc(p.ctx, p.StopScreenShare)
	p.readScreenRTCP(tr.Sender())
	return nil
}

// readScreenRTCP reads the SFU's RTCP for the screen track: key-frame
// requests go to the running encoder. Ends when the connection closes.
func (p *Participant) readScreenRTCP(snd *webrtc.RTPSender) {
	s := &p.screen
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		readKeyframeRequests(snd, func() { s.pendingKF.Store(true) })
	}()
}

// reattachScreen adds the screen track to a new PeerConnection after a
// reconnect (the join asked for its receive slot).
func (p *Participant) reattachScreen(pc *webrtc.PeerConnection) error {
	s := &p.screen
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.track == nil {
		return nil
	}
	tr, err := pc.AddTransceiverFromTrack(s.track, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
	if err != nil {
		s.track, s.sender = nil, nil
		return err
	}
	s.sender = tr.Sender()
	p.readScreenRTCP(tr.Sender())
	s.pendingKF.Store(true)
	return nil
}

// StopScreenShare stops sharing (a no-op when not sharing) and closes the
// source given to StartScreenShare.
func (p *Participant) StopScreenShare() {
	s := &p.screen
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopLocked()
}

// allotScreen gives a running share its part of the estimate est (bit/s,
// screenPart) and returns that part: what the camera must leave free (0
// when not sharing). The encoder is told a new bitrate when it moves by
// over 5 % (bitrateMoved).
func (p *Participant) allotScreen(est int) int {
	s := &p.screen
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cancel == nil {
		return 0
	}
	r := screenPart(est, p.cfg.AudioBitrate, p.cameraOff.Load())
	if bitrateMoved(s.rate, r) {
		s.pendingRate.Store(int64(vp8Bitrate(max(r, minEncoderBitrate), s.fps)))
		s.rate = r
	}
	return min(s.rate, est)
}

// SetCameraOff tells the sender that the user turned the camera off (its
// source then sends black frames): a running screen share may take
// screenAloneFraction of the estimate instead of screenShareFraction.
func (p *Participant) SetCameraOff(off bool) { p.cameraOff.Store(off) }

// ScreenSharing reports whether a share is running.
func (p *Participant) ScreenSharing() bool {
	s := &p.screen
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cancel != nil
}

// ScreenFramesSent counts the screen frames encoded and sent.
func (p *Participant) ScreenFramesSent() int {
	s := &p.screen
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.frames
}

// stopLocked ends the running share. It releases s.mu while waiting for
// the share's goroutines (the encode loop takes s.mu to count frames).
func (s *screenShare) stopLocked() {
	if s.cancel == nil {
		return
	}
	cancel, src, enc, done := s.cancel, s.src, s.enc, s.done
	s.cancel, s.src, s.enc, s.done, s.rate = nil, nil, nil, nil, 0
	cancel()
	_ = src.Close() // unblocks ReadFrame
	s.mu.Unlock()
	done.Wait()
	s.mu.Lock()
	_ = enc.Close()
}
