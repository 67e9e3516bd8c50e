// Package sfu is Podium's selective forwarding unit: each participant has one
// server-side PeerConnection; every VP8 and Opus track a participant
// publishes is forwarded, packet by packet and without decoding, to every
// other participant in the same room. Key-frame requests (PLI, FIR) from
// subscribers go back to the publisher, rate limited.
//
// The SFU knows nothing of room rules (roles, hands, chat): the signaling
// server decides who joins and tells the SFU. The server is the only SDP
// offerer; participants answer. That keeps renegotiation free of glare.
package sfu

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/podiumhq/podium/media/rtcapi"
)

// Signaler carries the SFU's side of negotiation to one participant.
type Signaler interface {
	SendOffer(sdp string)
	SendCandidate(c webrtc.ICECandidateInit)
}

// Config configures an SFU.
type Config struct {
	API        rtcapi.Options
	ICEServers []webrtc.ICEServer
	// Registerer receives the SFU's metrics (nil: not registered).
	Registerer prometheus.Registerer
	Logger     *slog.Logger
	// MaxTracksPerPeer bounds what one participant may publish (default 4).
	MaxTracksPerPeer int
}

// KeyframeInterval is the shortest time between two key-frame requests the
// SFU forwards to one publisher: enough for a 500 ms recovery and not a PLI
// storm when many subscribers lose the same packet.
const KeyframeInterval = 500 * time.Millisecond

type metrics struct {
	packets, bytes prometheus.Counter
	tracks         prometheus.Gauge
	plis           prometheus.Counter
}

// SFU forwards media between the peers of each room.
type SFU struct {
	cfg   Config
	api   *webrtc.API
	log   *slog.Logger
	m     metrics
	mu    sync.Mutex
	rooms map[string]*room
}

type room struct {
	name   string
	peers  map[string]*Peer
	tracks map[string]*published // by publisher/trackID
}

// New builds an SFU.
func New(cfg Config) (*SFU, error) {
	api, err := rtcapi.New(cfg.API)
	if err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.MaxTracksPerPeer == 0 {
		cfg.MaxTracksPerPeer = 4
	}
	f := promauto.With(cfg.Registerer)
	s := &SFU{cfg: cfg, api: api, log: cfg.Logger, rooms: map[string]*room{}}
	s.m = metrics{
		packets: f.NewCounter(prometheus.CounterOpts{Name: "podium_sfu_forwarded_packets_total", Help: "RTP packets forwarded to subscribers."}),
		bytes:   f.NewCounter(prometheus.CounterOpts{Name: "podium_sfu_forwarded_bytes_total", Help: "RTP payload and header bytes forwarded to subscribers."}),
		tracks:  f.NewGauge(prometheus.GaugeOpts{Name: "podium_sfu_tracks", Help: "Published tracks being forwarded."}),
		plis:    f.NewCounter(prometheus.CounterOpts{Name: "podium_sfu_keyframe_requests_total", Help: "Key-frame requests (PLI) sent to publishers."}),
	}
	return s, nil
}

// Stats are cumulative forwarding counters.
type Stats struct {
	Tracks           int
	ForwardedPackets uint64
	ForwardedBytes   uint64
}

var (
	statPackets atomic.Uint64
	statBytes   atomic.Uint64
)

// ForwardStats returns process-wide forwarding counters (all SFUs).
func ForwardStats() (packets, bytes uint64) { return statPackets.Load(), statBytes.Load() }

// Peer is one participant's server-side PeerConnection.
type Peer struct {
	sfu  *SFU
	room *room
	id   string
	pc   *webrtc.PeerConnection
	sig  Signaler
	log  *slog.Logger

	negMu          sync.Mutex
	awaitingAnswer bool
	pendingOffer   bool
	iceRestart     bool // the next offer restarts ICE (RestartICE)
	// Candidates gathered while an offer is being made wait until it is
	// sent: after an ICE restart they carry the new ufrag, which the
	// participant cannot match before it has the offer.
	cands      rtcapi.CandidateGate
	pendingICE []webrtc.ICECandidateInit
	closed     bool

	// downs are the tracks this peer receives, keyed by published key.
	downs map[string]*webrtc.RTPSender
	// want: layers this peer asked for (subscribe hints), by published
	// key. Guarded by SFU.mu.
	want map[string]Layer
	nPub int
	// withheld: the peer may not publish now (a webinar attendee off
	// stage); its tracks are read and dropped, kept in held. Guarded by
	// SFU.mu.
	withheld bool
	held     []*published
}

// published is one incoming track and its fan-out.
type published struct {
	key       string
	publisher *Peer
	remote    *webrtc.TrackRemote
	subs      atomic.Pointer[[]*downTrack]
	lastPLI   atomic.Int64 // unix ns
	// upLoss is the loss on the publisher's own uplink (sequence gaps
	// arriving here, smoothed, float64 bits). upExpected and upMissing
	// count the same since the track started: packets expected and
	// missing at first arrival. The subscribers' receiver reports include
	// that loss, and it is not their links' fault.
	upLoss                atomic.Uint64
	upExpected, upMissing atomic.Int64
	upFirst               atomic.Uint32 // the first sequence number that arrived
	// lastProxy: when the last loss-proxy report went to the publisher
	// (unix ns; proxyLoss).
	lastProxy atomic.Int64
}

// ownLoss takes the publisher's uplink loss up (0..1, over the same
// interval) out of a subscriber's reported fraction lost (x/256, RFC 3550
// section 6.4.1): total = 1 - (1-up)(1-own).
func ownLoss(fraction uint8, up float64) uint8 {
	total := float64(fraction) / 256
	if up <= 0 || up >= 1 {
		return fraction
	}
	own := 1 - (1-total)/(1-up)
	return uint8(max(0, min(255, math.Round(own*256))))
}

// downTrack is one subscriber's copy of a published track; layer.go
// holds its per-subscriber layer choice and forwarding state.
type downTrack struct {
	peerID string
	track  *webrtc.TrackLocalStaticRTP
	layers layerState
	// The publisher's uplink counters at this subscriber's last receiver
	// report (its RTCP reader only).
	rrExpected, rrMissing int64
	// rrLoss: the fraction lost (x/256) in this subscriber's last receiver
	// report, and when it came (unix ns): audio's loss proxy reads them.
	rrLoss   atomic.Uint32
	rrLossAt atomic.Int64
}

// AddPeer creates the PeerConnection for participant id in roomName with
// receive slots for video and audio tracks it may publish, subscribes it to
// every track already published in the room, and sends the first offer
// through sig. A peer with the same id in the room is closed first.
func (s *SFU) AddPeer(roomName, id string, sig Signaler, video, audio int) (*Peer, error) {
	if video+audio > s.cfg.MaxTracksPerPeer {
		return nil, fmt.Errorf("sfu: %d tracks requested, at most %d allowed", video+audio, s.cfg.MaxTracksPerPeer)
	}
	pc, err := s.api.NewPeerConnection(webrtc.Configuration{ICEServers: s.cfg.ICEServers})
	if err != nil {
		return nil, err
	}
	p := &Peer{sfu: s, id: id, pc: pc, sig: sig, downs: map[string]*webrtc.RTPSender{}, log: s.log.With("peer", id, "room", roomName)}
	for i := 0; i < video; i++ {
		if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			pc.Close()
			return nil, err
		}
	}
	for i := 0; i < audio; i++ {
		if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeAudio, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			pc.Close()
			return nil, err
		}
	}
	p.nPub = video + audio
	pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c != nil {
			p.sendCandidate(c.ToJSON())
		}
	})
	pc.OnTrack(func(t *webrtc.TrackRemote, r *webrtc.RTPReceiver) { s.onTrack(p, t, r) })
	pc.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
		p.log.Debug("peer connection state", "state", st.String())
	})

	s.mu.Lock()
	rm := s.rooms[roomName]
	if rm == nil {
		rm = &room{name: roomName, peers: map[string]*Peer{}, tracks: map[string]*published{}}
		s.rooms[roomName] = rm
	}
	old := rm.peers[id]
	p.room = rm
	rm.peers[id] = p
	s.mu.Unlock()
	if old != nil {
		old.close(false)
	}

	s.mu.Lock()
	for _, pub := range rm.tracks {
		if pub.publisher != p {
			s.subscribeLocked(p, pub)
		}
	}
	s.mu.Unlock()
	p.Negotiate()
	return p, nil
}

// ID returns the participant id.
func (p *Peer) ID() string { return p.id }

// PeerConnection exposes the underlying connection (for stats).
func (p *Peer) PeerConnection() *webrtc.PeerConnection { return p.pc }

// AddPublishSlots adds receive slots for more tracks (e.g. a screen share)
// and renegotiates.
func (p *Peer) AddPublishSlots(video, audio int) error {
	if video < 0 || audio < 0 || p.nPub+video+audio > p.sfu.cfg.MaxTracksPerPeer {
		return fmt.Errorf("sfu: at most %d published tracks per participant", p.sfu.cfg.MaxTracksPerPeer)
	}
	for i := 0; i < video; i++ {
		if _, err := p.pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			return err
		}
	}
	for i := 0; i < audio; i++ {
		if _, err := p.pc.AddTransceiverFromKind(webrtc.RTPCodecTypeAudio, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			return err
		}
	}
	p.nPub += video + audio
	p.Negotiate()
	return nil
}

func (p *Peer) sendCandidate(c webrtc.ICECandidateInit) {
	p.cands.Send(c, p.sig.SendCandidate)
}

// RestartICE renegotiates with new ICE credentials (RFC 8445 section 9,
// RFC 8839 section 4.4.1.1.1): the participant asked because its network
// changed or its ICE connection failed. If an offer is outstanding the
// restart goes with the next one.
func (p *Peer) RestartICE() {
	p.negMu.Lock()
	defer p.negMu.Unlock()
	p.iceRestart = true
	p.log.Info("ICE restart requested")
	p.negotiateLocked()
}

// ErrBadSDP wraps failures to apply a participant's SDP.
var ErrBadSDP = errors.New("bad SDP")

// Negotiate sends a new offer now, or as soon as the outstanding one is
// answered.
func (p *Peer) Negotiate() {
	p.negMu.Lock()
	defer p.negMu.Unlock()
	p.negotiateLocked()
}

func (p *Peer) negotiateLocked() {
	if p.closed {
		return
	}
	if p.awaitingAnswer {
		p.pendingOffer = true
		return
	}
	if len(p.pc.GetTransceivers()) == 0 {
		// Nothing to send or receive yet (a webinar attendee with no publish
		// slots in an empty room): an offer without media sections carries
		// no ICE credentials. The first subscription negotiates.
		return
	}
	p.cands.Hold()
	defer p.cands.Release(p.sig.SendCandidate) // after the offer itself
	var opts *webrtc.OfferOptions
	if p.iceRestart {
		opts = &webrtc.OfferOptions{ICERestart: true}
	}
	offer, err := p.pc.CreateOffer(opts)
	if err != nil {
		p.log.Warn("create offer", "err", err)
		return
	}
	p.iceRestart = false
	if err := p.pc.SetLocalDescription(offer); err != nil {
		p.log.Warn("set local offer", "err", err)
		return
	}
	p.awaitingAnswer = true
	p.pendingOffer = false
	p.sig.SendOffer(offer.SDP)
}

// HandleAnswer applies the participant's answer. An answer that cannot be
// applied returns an error wrapping ErrBadSDP, and the outstanding offer is
// sent again so the participant can recover.
func (p *Peer) HandleAnswer(sdp string) error {
	p.negMu.Lock()
	defer p.negMu.Unlock()
	if !p.awaitingAnswer {
		return fmt.Errorf("%w: no offer is outstanding", ErrBadSDP)
	}
	err := p.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: sdp})
	if err != nil {
		// Still in have-local-offer (pion has no rollback): send the
		// outstanding offer again so the participant can answer it properly.
		if ld := p.pc.PendingLocalDescription(); ld != nil {
			p.sig.SendOffer(ld.SDP)
		}
		return fmt.Errorf("%w: %v", ErrBadSDP, err)
	}
	p.awaitingAnswer = false
	for _, c := range p.pendingICE {
		if err := p.pc.AddICECandidate(c); err != nil {
			p.log.Debug("add queued candidate", "err", err)
		}
	}
	p.pendingICE = nil
	if p.pendingOffer {
		p.negotiateLocked()
	}
	return nil
}

// AddCandidate adds a trickled remote ICE candidate (queued until the first
// answer is applied).
func (p *Peer) AddCandidate(c webrtc.ICECandidateInit) error {
	p.negMu.Lock()
	defer p.negMu.Unlock()
	if p.pc.RemoteDescription() == nil || p.awaitingAnswer {
		// Before the answer (the first, or one to an ICE restart whose
		// candidates carry the new ufrag) candidates wait for it.
		if len(p.pendingICE) >= 64 {
			return errors.New("too many candidates before an answer")
		}
		p.pendingICE = append(p.pendingICE, c)
		return nil
	}
	return p.pc.AddICECandidate(c)
}

// Close removes the peer from its room, stops forwarding its tracks to
// others (renegotiating with them) and closes the connection.
func (p *Peer) Close() { p.close(true) }

func (p *Peer) close(removeFromRoom bool) {
	p.negMu.Lock()
	if p.closed {
		p.negMu.Unlock()
		return
	}
	p.closed = true
	p.negMu.Unlock()

	s := p.sfu
	var renegotiate []*Peer
	s.mu.Lock()
	rm := p.room
	if removeFromRoom && rm.peers[p.id] == p {
		delete(rm.peers, p.id)
	}
	for key, pub := range rm.tracks {
		if pub.publisher != p {
			continue
		}
		delete(rm.tracks, key)
		s.m.tracks.Dec()
		for _, other := range rm.peers {
			if other == p {
				continue
			}
			if snd := other.downs[key]; snd != nil {
				delete(other.downs, key)
				_ = other.pc.RemoveTrack(snd)
				renegotiate = append(renegotiate, other)
			}
		}
	}
	// Drop this peer from others' fan-out lists.
	for _, pub := range rm.tracks {
		pub.removeSub(p.id)
	}
	if len(rm.peers) == 0 {
		delete(s.rooms, rm.name)
	}
	s.mu.Unlock()
	_ = p.pc.Close()
	seen := map[*Peer]bool{}
	for _, o := range renegotiate {
		if !seen[o] {
			seen[o] = true
			o.Negotiate()
		}
	}
}

func (s *SFU) onTrack(p *Peer, t *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
	key := p.id + "/" + t.ID()
	pub := &published{key: key, publisher: p, remote: t}
	empty := []*downTrack{}
	pub.subs.Store(&empty)
	s.mu.Lock()
	rm := p.room
	if _, dup := rm.tracks[key]; dup || rm.peers[p.id] != p {
		s.mu.Unlock()
		return
	}
	if p.withheld {
		p.held = append(p.held, pub)
		s.mu.Unlock()
		p.log.Info("track withheld (publishing not allowed)", "track", t.ID())
		go s.forward(pub) // drains it; no subscribers until allowed
		return
	}
	rm.tracks[key] = pub
	s.m.tracks.Inc()
	var subscribers []*Peer
	for _, other := range rm.peers {
		if other != p {
			s.subscribeLocked(other, pub)
			subscribers = append(subscribers, other)
		}
	}
	s.mu.Unlock()
	p.log.Info("track published", "track", t.ID(), "kind", t.Kind().String(), "codec", t.Codec().MimeType)
	for _, o := range subscribers {
		o.Negotiate()
	}
	go s.forward(pub)
}

// subscribeLocked adds pub to sub's connection; the caller renegotiates.
func (s *SFU) subscribeLocked(sub *Peer, pub *published) {
	if _, ok := sub.downs[pub.key]; ok {
		return
	}
	// Track IDs are unique per room ("<publisher>:<track>"): two publishers'
	// "camera" tracks must not collide at a subscriber.
	local, err := webrtc.NewTrackLocalStaticRTP(pub.remote.Codec().RTPCodecCapability, pub.publisher.id+":"+pub.remote.ID(), pub.publisher.id)
	if err != nil {
		s.log.Warn("new local track", "err", err)
		return
	}
	// A new send-only transceiver: AddTrack would reuse the subscriber's
	// receive slot (its publishing m-line) and turn it sendrecv.
	tr, err := sub.pc.AddTransceiverFromTrack(local, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
	if err != nil {
		s.log.Warn("add track", "peer", sub.id, "err", err)
		return
	}
	snd := tr.Sender()
	sub.downs[pub.key] = snd
	d := &downTrack{peerID: sub.id, track: local}
	d.layers.init(pub.remote.Kind() == webrtc.RTPCodecTypeVideo, sub.wantLayer(pub.key))
	pub.addSub(d)
	go s.readSubscriberRTCP(snd, pub, d)
	s.requestKeyframe(pub)
}

func (pub *published) addSub(d *downTrack) {
	for {
		old := pub.subs.Load()
		n := append(append([]*downTrack(nil), (*old)...), d)
		if pub.subs.CompareAndSwap(old, &n) {
			return
		}
	}
}

func (pub *published) removeSub(peerID string) {
	for {
		old := pub.subs.Load()
		n := make([]*downTrack, 0, len(*old))
		for _, d := range *old {
			if d.peerID != peerID {
				n = append(n, d)
			}
		}
		if pub.subs.CompareAndSwap(old, &n) {
			return
		}
	}
}

// forward reads the published track and writes each packet to every
// subscriber's local track. It ends when the publisher's track ends.
func (s *SFU) forward(pub *published) {
	buf := make([]byte, 1500)
	var pkt rtp.Packet
	var lastSeq uint16
	started, expected, got, upLoss := false, 0, 0, 0.0
	var watch *upWatch
	if pub.remote.Kind() == webrtc.RTPCodecTypeVideo {
		watch = &upWatch{}
	}
	for {
		n, _, err := pub.remote.Read(buf)
		if err != nil {
			return
		}
		if err := pkt.Unmarshal(buf[:n]); err != nil {
			continue
		}
		// Uplink loss over windows of 20 packets, smoothed.
		if gap := int(pkt.SequenceNumber - lastSeq); !started || (gap > 0 && gap < 1000) {
			if started {
				expected += gap
				got++
				pub.upExpected.Add(int64(gap))
				pub.upMissing.Add(int64(gap - 1))
			}
			if !started {
				pub.upFirst.Store(uint32(pkt.SequenceNumber))
			}
			started, lastSeq = true, pkt.SequenceNumber
			if got >= 20 {
				upLoss = 0.5*upLoss + 0.5*(1-float64(got)/float64(expected))
				pub.upLoss.Store(math.Float64bits(upLoss))
				expected, got = 0, 0
			}
		}
		if watch != nil {
			if reason, fps := watch.observe(&pkt, upLoss, time.Now()); reason != "" {
				s.warn(pub, reason, upLoss, fps)
			}
		}
		subs := *pub.subs.Load()
		if len(pkt.Payload) == 0 {
			// Padding only: the publisher probing its uplink. Nothing to
			// forward.
			for _, d := range subs {
				d.layers.skip(pkt.SequenceNumber)
			}
			continue
		}
		for _, d := range subs {
			seq, ok := d.layers.admit(&pkt)
			if !ok {
				if d.layers.wantsKeyframe() {
					s.requestKeyframe(pub)
				}
				continue
			}
			orig := pkt.SequenceNumber
			pkt.SequenceNumber = seq
			err := d.track.WriteRTP(&pkt)
			pkt.SequenceNumber = orig
			if err == nil {
				s.m.packets.Inc()
				s.m.bytes.Add(float64(n))
				statPackets.Add(1)
				statBytes.Add(uint64(n))
			}
		}
	}
}

// readSubscriberRTCP drains a subscriber's RTCP for one sender (so the
// interceptors see NACKs and reports) and forwards key-frame requests.
func (s *SFU) readSubscriberRTCP(snd *webrtc.RTPSender, pub *published, d *downTrack) {
	for {
		pkts, _, err := snd.ReadRTCP()
		if err != nil {
			return
		}
		for _, pk := range pkts {
			switch r := pk.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				// A subscriber held at a lower layer gets the publisher's
				// periodic key frames; its losses do not cost the others
				// extra key frames.
				if d.layers.full() {
					s.requestKeyframe(pub)
				}
			case *rtcp.ReceiverReport:
				// The uplink's loss over the interval this report covers
				// (since the subscriber's previous one): a burst lost
				// upstream shows in the subscriber's report up to a
				// second later, when a smoothed figure has moved on.
				exp, miss := pub.upExpected.Load(), pub.upMissing.Load()
				up := 0.0
				if de := exp - d.rrExpected; de > 0 {
					up = float64(miss-d.rrMissing) / float64(de)
				}
				d.rrExpected, d.rrMissing = exp, miss
				now := time.Now()
				audio := pub.remote.Kind() == webrtc.RTPCodecTypeAudio
				for _, rr := range r.Reports {
					d.rrLoss.Store(uint32(rr.FractionLost))
					d.rrLossAt.Store(now.UnixNano())
					if !audio && d.layers.onReport(ownLoss(rr.FractionLost, up), now) {
						p := d.layers.current()
						s.log.Info("subscriber link layer", "peer", d.peerID, "track", pub.key, "layer", p.String(), "loss", float64(rr.FractionLost)/256)
					}
				}
				if audio {
					s.proxyLoss(pub, now)
				}
			}
		}
	}
}

// Audio loss proxy: the publisher's Opus encoder adds in-band FEC for the
// loss it is told to expect, but the receiver reports it gets from the SFU
// (pion's, for its uplink) know nothing of the subscribers' links. So,
// once a second, the SFU also sends it a receiver report for its audio
// track with the highest fraction lost among the subscribers' recent
// reports (LiveKit's SFU proxies loss the same way). Its cumulative
// fields are the SFU's own count for the uplink (as in pion's reports), so
// a sender that takes loss from their differences (libwebrtc) sees the
// uplink's; it carries no LSR, so it adds no round-trip sample.
const (
	proxyInterval = time.Second
	proxyMaxAge   = 5 * time.Second // reports older than this are left out
)

// proxyLoss sends the publisher of audio track pub the worst loss its
// subscribers report, at most once per proxyInterval and only when some
// subscriber reports loss.
func (s *SFU) proxyLoss(pub *published, now time.Time) {
	last := pub.lastProxy.Load()
	if now.UnixNano()-last < int64(proxyInterval) {
		return
	}
	worst := uint32(0)
	if subs := pub.subs.Load(); subs != nil {
		for _, d := range *subs {
			if now.UnixNano()-d.rrLossAt.Load() <= int64(proxyMaxAge) {
				worst = max(worst, d.rrLoss.Load())
			}
		}
	}
	if worst == 0 || !pub.lastProxy.CompareAndSwap(last, now.UnixNano()) {
		return
	}
	_ = pub.publisher.pc.WriteRTCP([]rtcp.Packet{&rtcp.ReceiverReport{
		Reports: []rtcp.ReceptionReport{{SSRC: uint32(pub.remote.SSRC()), FractionLost: uint8(worst),
			TotalLost:          uint32(min(pub.upMissing.Load(), 1<<23-1)),
			LastSequenceNumber: pub.upFirst.Load() + uint32(pub.upExpected.Load())}},
	}})
}

func (s *SFU) requestKeyframe(pub *published) {
	if pub.remote.Kind() != webrtc.RTPCodecTypeVideo {
		return
	}
	now := time.Now().UnixNano()
	last := pub.lastPLI.Load()
	if now-last < int64(KeyframeInterval) || !pub.lastPLI.CompareAndSwap(last, now) {
		return
	}
	s.m.plis.Inc()
	_ = pub.publisher.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: uint32(pub.remote.SSRC())}})
}

// SetPublishAllowed stops (false) or resumes (true) forwarding what this
// peer publishes; peers are allowed by default. The signaling server uses it
// for a webinar's stage: an attendee brought on stage is allowed, one taken
// off is not. Stopping removes the peer's tracks from every subscriber
// (renegotiating with them); the peer's own upstream keeps its slots and is
// read and dropped. Resuming subscribes everyone to the held tracks.
func (p *Peer) SetPublishAllowed(allowed bool) {
	s := p.sfu
	var renegotiate []*Peer
	s.mu.Lock()
	rm := p.room
	switch {
	case !allowed && !p.withheld:
		p.withheld = true
		for key, pub := range rm.tracks {
			if pub.publisher != p {
				continue
			}
			delete(rm.tracks, key)
			s.m.tracks.Dec()
			empty := []*downTrack{}
			pub.subs.Store(&empty)
			p.held = append(p.held, pub)
			for _, other := range rm.peers {
				if snd := other.downs[key]; snd != nil {
					delete(other.downs, key)
					_ = other.pc.RemoveTrack(snd)
					renegotiate = append(renegotiate, other)
				}
			}
		}
	case allowed && p.withheld:
		p.withheld = false
		for _, pub := range p.held {
			if rm.peers[p.id] != p {
				break
			}
			rm.tracks[pub.key] = pub
			s.m.tracks.Inc()
			for _, other := range rm.peers {
				if other != p {
					s.subscribeLocked(other, pub)
					renegotiate = append(renegotiate, other)
				}
			}
		}
		p.held = nil
	}
	s.mu.Unlock()
	seen := map[*Peer]bool{}
	for _, o := range renegotiate {
		if !seen[o] {
			seen[o] = true
			o.Negotiate()
		}
	}
}

// RoomStats returns the number of peers and published tracks in a room.
func (s *SFU) RoomStats(roomName string) (peers, tracks int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rm := s.rooms[roomName]; rm != nil {
		return len(rm.peers), len(rm.tracks)
	}
	return 0, 0
}
