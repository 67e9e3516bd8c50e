// Package server is podiumd's signaling server: WebSocket connections at
// /ws speaking the protocol package's messages, rooms created on first join,
// the participant roster, and SDP/ICE relay to a media router (the SFU).
//
// A malformed or refused message is answered with an error to its sender
// only; rooms and other participants carry on. Each connection has its own
// bounded send queue, so a slow reader never blocks a room: when its queue
// is full the connection is closed.
package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/podiumhq/podium/signaling/protocol"
	"github.com/podiumhq/podium/signaling/room"
	"github.com/podiumhq/podium/signaling/token"
)

// MediaSignaler carries a media session's offers and candidates to its client.
type MediaSignaler interface {
	SendOffer(sdp string)
	SendCandidate(c protocol.CandidateBody)
}

// MediaSession is one participant's media connection.
type MediaSession interface {
	HandleAnswer(sdp string) error
	AddCandidate(c protocol.CandidateBody) error
	AddPublishSlots(video, audio int) error
	Close()
}

// ICERestarter is implemented by media sessions that can renegotiate with
// new ICE credentials (RFC 8445 section 9) when the client asks.
type ICERestarter interface {
	RestartICE()
}

// PublishController is implemented by media sessions that can stop and
// resume forwarding what the participant publishes (webinar stage). A
// session without it is left alone.
type PublishController interface {
	SetPublishAllowed(allowed bool)
}

// Media creates media sessions (implemented over the SFU).
type Media interface {
	Join(room, participantID string, sig MediaSignaler, video, audio int) (MediaSession, error)
}

// Config configures the server.
type Config struct {
	Tokens token.Issuer
	// Dev allows joins without a token from loopback addresses.
	Dev   bool
	Media Media
	// MaxParticipants per room (default 10000).
	MaxParticipants int
	// SendQueue is each connection's outgoing queue length (default 1024).
	SendQueue  int
	Registerer prometheus.Registerer
	Logger     *slog.Logger
	// InsecureSkipOriginCheck accepts WebSocket upgrades from any Origin.
	InsecureSkipOriginCheck bool
	// OriginPatterns are the other origins (host patterns in path.Match
	// syntax, e.g. "app.example.com" or "*.example.com") whose pages may
	// open a WebSocket. Empty: same origin only. Requests without an Origin
	// header (non-browser clients) are accepted.
	OriginPatterns []string
	// MsgRate and MsgBurst are each connection's token bucket for incoming
	// messages (defaults DefaultMsgRate per second, burst DefaultMsgBurst;
	// a negative MsgRate disables the limit). A message over the limit is
	// refused with ErrRateLimited; after RateStrikes refused messages in a
	// burst (default DefaultRateStrikes, refilled one a second) the
	// connection is closed with 1008. Other connections are not affected.
	MsgRate     float64
	MsgBurst    int
	RateStrikes int
	// MaxRooms open at once (default DefaultMaxRooms); MaxTracks a
	// participant may publish, video and audio together (default
	// DefaultMaxTracks).
	MaxRooms  int
	MaxTracks int
	// Room holds the room rules' limits (hand latency bound, grace period,
	// chat history); zero fields take room.Config's defaults.
	Room room.Config
	// FlushInterval is how often attendees' queue positions and the hand
	// count are sent when they changed (default 250 ms); CountInterval
	// bounds how often the count alone goes to every attendee (default 1 s).
	FlushInterval, CountInterval time.Duration
	// ActionLog, when set, sees every action a room accepted, in order
	// (room.Replay rebuilds the state from them). It is called with the
	// room's lock held and must not block.
	ActionLog func(roomName string, a room.Action)
	// ICEServers, when set, gives the ICE servers (a TURN relay with
	// time-limited credentials) sent to a participant with its join answer.
	ICEServers func(roomName, identity string) []protocol.ICEServer
	// RoomStore, when set, keeps rooms' state across restarts (store.go).
	RoomStore RoomStore
}

// Server handles signaling for all rooms.
type Server struct {
	cfg   Config
	log   *slog.Logger
	mu    sync.Mutex
	rooms map[string]*roomState

	mRooms, mParticipants prometheus.Gauge
	mMessages             *prometheus.CounterVec
	mErrors               *prometheus.CounterVec
	mSent, mSentBytes     prometheus.Counter
	mRateDisconnects      prometheus.Counter
	resume                *resumer // resume.go
}

// roomState is one room: its members' connections and its rules' state,
// both guarded by mu (lock order: Server.mu, then roomState.mu).
type roomState struct {
	name       string
	mu         sync.Mutex
	members    map[string]*conn
	presenters map[string]*conn
	st         room.State
	// Coalesced attendee updates (see flush).
	dirty       bool
	flushing    bool
	lastCount   time.Time
	countSent   int
	expiryTimer *time.Timer
}

// New returns a server.
func New(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.MaxParticipants == 0 {
		cfg.MaxParticipants = 10000
	}
	if cfg.SendQueue == 0 {
		cfg.SendQueue = 1024
	}
	if cfg.MsgRate == 0 {
		cfg.MsgRate = DefaultMsgRate
	}
	if cfg.MsgBurst <= 0 {
		cfg.MsgBurst = max(DefaultMsgBurst, int(cfg.MsgRate))
	}
	if cfg.RateStrikes <= 0 {
		cfg.RateStrikes = DefaultRateStrikes
	}
	if cfg.MaxRooms <= 0 {
		cfg.MaxRooms = DefaultMaxRooms
	}
	if cfg.MaxTracks <= 0 {
		cfg.MaxTracks = DefaultMaxTracks
	}
	if cfg.FlushInterval == 0 {
		cfg.FlushInterval = 250 * time.Millisecond
	}
	if cfg.CountInterval == 0 {
		cfg.CountInterval = time.Second
	}
	cfg.Room = cfg.Room.Defaults()
	f := promauto.With(cfg.Registerer)
	return &Server{
		cfg: cfg, log: cfg.Logger, rooms: map[string]*roomState{}, resume: newResumer(cfg.Tokens),
		mRooms:           f.NewGauge(prometheus.GaugeOpts{Name: "podium_rooms", Help: "Open rooms."}),
		mParticipants:    f.NewGauge(prometheus.GaugeOpts{Name: "podium_participants", Help: "Joined participants."}),
		mMessages:        f.NewCounterVec(prometheus.CounterOpts{Name: "podium_signaling_messages_total", Help: "Signaling messages received, by type."}, []string{"type"}),
		mSent:            f.NewCounter(prometheus.CounterOpts{Name: "podium_signaling_sent_messages_total", Help: "Signaling messages queued to clients."}),
		mSentBytes:       f.NewCounter(prometheus.CounterOpts{Name: "podium_signaling_sent_bytes_total", Help: "Bytes of signaling messages queued to clients (payload, without WebSocket framing)."}),
		mErrors:          f.NewCounterVec(prometheus.CounterOpts{Name: "podium_signaling_errors_total", Help: "Errors sent to clients, by code."}, []string{"code"}),
		mRateDisconnects: f.NewCounter(prometheus.CounterOpts{Name: "podium_signaling_rate_disconnects_total", Help: "Connections closed for exceeding the message rate limit."}),
	}
}

// conn is one WebSocket client.
type conn struct {
	srv    *Server
	ws     *websocket.Conn
	remote string
	// Outgoing messages: queue (guarded by qmu, at most limit) and wake,
	// which tells writeLoop there is something to write.
	qmu   sync.Mutex
	queue [][]byte
	limit int
	wake  chan struct{}
	done  chan struct{}
	once  sync.Once
	log   *slog.Logger
	// Set before the nil marker is queued (closeAfterFlush).
	flushCode   websocket.StatusCode
	flushReason string

	// Set at join; guarded by srv.mu for roster use.
	self   protocol.Participant
	room   *roomState
	media  MediaSession
	joined bool
	// Publish slots asked for at join and granted so far (webinar stage).
	wantVideo, wantAudio, gotVideo, gotAudio int

	// Read loop only.
	clock room.Clock
	lim   *limiter
	// Guarded by the room's mu: what the attendee was last told.
	lastPos, lastCount int
}

// ServeHTTP upgrades to WebSocket and runs the connection until it closes.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: s.cfg.InsecureSkipOriginCheck, OriginPatterns: s.cfg.OriginPatterns})
	if err != nil {
		// Accept has answered (403 for a foreign Origin).
		s.log.Info("websocket upgrade refused", "remote", r.RemoteAddr, "origin", r.Header.Get("Origin"), "err", err)
		return
	}
	// Hard limit: far over the protocol limit, so an oversized message still
	// gets a protocol error; beyond this the socket is closed with 1009.
	ws.SetReadLimit(4 * protocol.MaxMessageBytes)
	c := &conn{srv: s, ws: ws, remote: r.RemoteAddr, wake: make(chan struct{}, 1), limit: s.cfg.SendQueue, done: make(chan struct{}), log: s.log.With("remote", r.RemoteAddr), lim: newLimiter(s.cfg)}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	go c.writeLoop(ctx)
	c.readLoop(ctx)
	c.close(websocket.StatusNormalClosure, "")
	s.leave(c, false)
}

func (c *conn) writeLoop(ctx context.Context) {
	var batch [][]byte
	for {
		select {
		case <-c.done:
			return
		case <-c.wake:
		}
		c.qmu.Lock()
		batch, c.queue = c.queue, batch[:0]
		c.qmu.Unlock()
		for i, msg := range batch {
			batch[i] = nil
			if msg == nil { // closeAfterFlush's marker: everything before it is written
				c.close(c.flushCode, c.flushReason)
				return
			}
			wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			err := c.ws.Write(wctx, websocket.MessageText, msg)
			cancel()
			if err != nil {
				c.close(websocket.StatusGoingAway, "write failed")
				return
			}
		}
		if cap(batch) > 64 {
			batch = nil // an idle connection keeps no large buffer
		}
	}
}

func (c *conn) close(code websocket.StatusCode, reason string) {
	c.once.Do(func() {
		close(c.done)
		go c.ws.Close(code, reason)
	})
}

// closeAfterFlush closes the connection once the messages queued before
// this call are written (so a final error reaches the client).
func (c *conn) closeAfterFlush(code websocket.StatusCode, reason string) {
	c.flushCode, c.flushReason = code, reason
	c.push(nil, true)
	time.AfterFunc(5*time.Second, func() { c.close(code, reason) })
}

// queueLimit is how many messages may wait for c: SendQueue, and 16 times
// that for presenters and hosts, who receive every hand delta.
func (c *conn) queueLimit() int {
	if presenterRole(c.self.Role) {
		return 16 * c.srv.cfg.SendQueue
	}
	return c.srv.cfg.SendQueue
}

// push appends msg to the queue (a slice that grows only with the backlog,
// so an idle connection holds no preallocated buffer); false when full.
func (c *conn) push(msg []byte, force bool) bool {
	c.qmu.Lock()
	if !force && len(c.queue) >= c.limit {
		c.qmu.Unlock()
		return false
	}
	c.queue = append(c.queue, msg)
	c.qmu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
	return true
}

// enqueue queues a message; a client whose queue is full is disconnected.
func (c *conn) enqueue(msg []byte) {
	select {
	case <-c.done:
		return
	default:
	}
	if c.push(msg, false) {
		c.srv.mSent.Inc()
		c.srv.mSentBytes.Add(float64(len(msg)))
		return
	}
	c.log.Warn("send queue full: disconnecting slow client")
	c.close(websocket.StatusPolicyViolation, "send queue full")
}

func (c *conn) sendMsg(typ, id string, seq uint64, body any) {
	b, err := protocol.Encode(typ, id, seq, body)
	if err != nil {
		c.log.Error("encode", "type", typ, "err", err)
		return
	}
	c.enqueue(b)
}

func (c *conn) sendError(id string, e *protocol.Error) {
	c.srv.mErrors.WithLabelValues(e.Code).Inc()
	c.log.Info("request refused", "code", e.Code, "msg", e.Message)
	c.sendMsg(protocol.TypeError, id, 0, protocol.ErrorBody{Code: e.Code, Message: e.Message})
}

// SendOffer implements MediaSignaler.
func (c *conn) SendOffer(sdp string) {
	c.sendMsg(protocol.TypeOffer, "", 0, protocol.SDPBody{SDP: sdp})
}

// SendCandidate implements MediaSignaler.
func (c *conn) SendCandidate(cand protocol.CandidateBody) {
	c.sendMsg(protocol.TypeCandidate, "", 0, cand)
}

func (c *conn) readLoop(ctx context.Context) {
	for {
		typ, data, err := c.ws.Read(ctx)
		if err != nil {
			return
		}
		select {
		case <-c.done:
			return
		default:
		}
		if v := c.lim.check(); v != accept {
			var env protocol.Envelope
			env, _ = protocol.Decode(data) // for the id only
			if c.rateLimited(v, env.ID) {
				<-c.done // until the error is written (closeAfterFlush bounds it)
				return
			}
			continue
		}
		if typ != websocket.MessageText {
			c.sendError("", protocol.Errorf(protocol.ErrBadMessage, "binary frames are not accepted"))
			continue
		}
		env, err := protocol.Decode(data)
		if err != nil {
			c.sendError(env.ID, protocol.AsError(err))
			continue
		}
		c.srv.mMessages.WithLabelValues(env.Type).Inc()
		if err := c.srv.handle(c, env); err != nil {
			c.sendError(env.ID, protocol.AsError(err))
		}
	}
}

func (s *Server) handle(c *conn, env protocol.Envelope) error {
	switch env.Type {
	case protocol.TypeJoin:
		var b protocol.JoinBody
		if err := protocol.DecodeBody(env, &b); err != nil {
			return err
		}
		return s.join(c, env.ID, b)
	case protocol.TypePing:
		var b protocol.PingBody
		if err := protocol.DecodeBody(env, &b); err != nil {
			return err
		}
		if l := b.Last; l != nil {
			c.clock.AddExchange(l.ClientSentMs, l.ServerTimeMs, l.ClientRecvMs)
		}
		c.sendMsg(protocol.TypePong, env.ID, 0, protocol.PongBody{ClientTimeMs: b.ClientTimeMs, ServerTimeMs: time.Now().UnixMilli()})
		return nil
	}
	if !c.isJoined() {
		return protocol.Errorf(protocol.ErrNotJoined, "%s before join", env.Type)
	}
	if a, ok, err := roomAction(c, env); ok {
		if err != nil {
			return err
		}
		return s.apply(c, env.ID, a)
	}
	if env.Type == protocol.TypeLeave {
		s.leave(c, true)
		c.close(websocket.StatusNormalClosure, "left")
		return nil
	}
	media := c.getMedia()
	if media == nil {
		return protocol.Errorf(protocol.ErrNotJoined, "%s needs a media session (joined signaling-only)", env.Type)
	}
	switch env.Type {
	case protocol.TypeAnswer:
		var b protocol.SDPBody
		if err := protocol.DecodeBody(env, &b); err != nil {
			return err
		}
		if err := media.HandleAnswer(b.SDP); err != nil {
			return protocol.Errorf(protocol.ErrBadSDP, "answer refused: %v", err)
		}
	case protocol.TypeCandidate:
		var b protocol.CandidateBody
		if err := protocol.DecodeBody(env, &b); err != nil {
			return err
		}
		if err := media.AddCandidate(b); err != nil {
			return protocol.Errorf(protocol.ErrBadSDP, "candidate refused: %v", err)
		}
	case protocol.TypePublish:
		var b protocol.PublishBody
		if err := protocol.DecodeBody(env, &b); err != nil {
			return err
		}
		if !s.publishAllowed(c) {
			return protocol.Errorf(protocol.ErrForbidden, "attendees of a webinar publish only on stage")
		}
		if b.Video < 0 || b.Audio < 0 {
			return protocol.Errorf(protocol.ErrBadMessage, "negative publish count")
		}
		s.mu.Lock()
		have := max(c.gotVideo+c.gotAudio, c.wantVideo+c.wantAudio)
		s.mu.Unlock()
		if err := s.tracksAllowed(have, b.Video+b.Audio); err != nil {
			return err
		}
		if err := media.AddPublishSlots(b.Video, b.Audio); err != nil {
			return protocol.Errorf(protocol.ErrForbidden, "%v", err)
		}
		s.mu.Lock()
		c.gotVideo += b.Video
		c.gotAudio += b.Audio
		s.mu.Unlock()
	case protocol.TypeMediaState, protocol.TypeSubscribe:
		return s.handleQuality(c, media, env)
	case protocol.TypeICERestart:
		r, ok := media.(ICERestarter)
		if !ok {
			return protocol.Errorf(protocol.ErrBadMessage, "this server's media sessions cannot restart ICE")
		}
		r.RestartICE()
	default:
		return protocol.Errorf(protocol.ErrUnknownType, "%s is not a client message", env.Type)
	}
	return nil
}

func isLoopback(remote string) bool {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func randomID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func (s *Server) authorize(c *conn, b protocol.JoinBody) (roomName string, self protocol.Participant, err error) {
	if b.Resume != "" {
		roomName, self, rerr := s.resume.verify(b.Resume)
		if rerr == nil && (b.Room == "" || b.Room == roomName) {
			return roomName, self, nil
		}
		if b.Token == "" && (b.Room == "" || b.Name == "") {
			return "", self, protocol.Errorf(protocol.ErrUnauthorized, "invalid resume token: %v", rerr)
		}
		c.log.Info("resume token refused; joining with the access token", "err", rerr)
	}
	if b.Token == "" {
		if !s.cfg.Dev || !isLoopback(c.remote) {
			return "", self, protocol.Errorf(protocol.ErrUnauthorized, "an access token is required")
		}
		if b.Room == "" || b.Name == "" {
			return "", self, protocol.Errorf(protocol.ErrBadMessage, "dev join needs room and name")
		}
		return b.Room, protocol.Participant{ID: "dev-" + randomID(), Name: b.Name, Role: protocol.RoleHost}, nil
	}
	claims, err := s.cfg.Tokens.Verify(b.Token)
	if err != nil {
		if errors.Is(err, token.ErrExpired) {
			return "", self, protocol.Errorf(protocol.ErrTokenExpired, "the access token has expired; ask for a new invite")
		}
		return "", self, protocol.Errorf(protocol.ErrUnauthorized, "invalid access token: %v", err)
	}
	if b.Room != "" && b.Room != claims.Room {
		return "", self, protocol.Errorf(protocol.ErrUnauthorized, "the token is for room %q, not %q", claims.Room, b.Room)
	}
	name := claims.Name
	if name == "" {
		name = claims.Subject
	}
	return claims.Room, protocol.Participant{ID: claims.Subject, Name: name, Role: claims.Role}, nil
}

func validName(s string) bool { return len(s) <= 128 && !strings.ContainsAny(s, "\x00\n\r") }

func (s *Server) join(c *conn, id string, b protocol.JoinBody) error {
	arrival := time.Now().UnixMilli()
	if c.isJoined() {
		return protocol.Errorf(protocol.ErrAlreadyJoined, "this connection has already joined")
	}
	roomName, self, err := s.authorize(c, b)
	if err != nil {
		return err
	}
	if !validName(roomName) || !validName(self.Name) || !validName(self.ID) {
		return protocol.Errorf(protocol.ErrBadMessage, "room or name too long or contains control characters")
	}
	video, audio := 1, 1
	if b.Publish != nil {
		video, audio = b.Publish.Video, b.Publish.Audio
		if video < 0 || audio < 0 {
			return protocol.Errorf(protocol.ErrBadMessage, "negative publish count")
		}
	}
	if err := s.tracksAllowed(0, video+audio); err != nil {
		return err
	}
	if b.ClientTimeMs != 0 {
		c.clock.AddOneWay(b.ClientTimeMs, arrival)
	}

	s.mu.Lock()
	rm := s.rooms[roomName]
	if rm == nil && len(s.rooms) >= s.cfg.MaxRooms {
		s.mu.Unlock()
		return protocol.Errorf(protocol.ErrServerFull, "this server holds its limit of %d rooms; try again later", s.cfg.MaxRooms)
	}
	if rm == nil {
		rm = s.newRoom(roomName)
		s.rooms[roomName] = rm
		s.mRooms.Inc()
	}
	rm.mu.Lock()
	old := rm.members[self.ID]
	if old == nil && len(rm.members) >= s.cfg.MaxParticipants {
		rm.mu.Unlock()
		s.mu.Unlock()
		return protocol.Errorf(protocol.ErrRoomFull, "room %q is full (%d participants)", roomName, s.cfg.MaxParticipants)
	}
	if old != nil {
		// Clean replacement: the newest connection wins.
		delete(rm.members, self.ID)
		delete(rm.presenters, self.ID)
		s.mParticipants.Dec()
		old.room = nil
	}
	st, ev, err := room.Apply(rm.st, room.Action{Kind: room.KindJoin, AtMs: arrival, By: self.ID, Name: self.Name, Role: self.Role})
	if err != nil {
		rm.mu.Unlock()
		s.mu.Unlock()
		return err
	}
	rm.st = st
	s.logAction(rm, room.Action{Kind: room.KindJoin, AtMs: arrival, By: self.ID, Name: self.Name, Role: self.Role})
	c.self, c.room, c.joined = self, rm, true
	c.qmu.Lock()
	c.limit = c.queueLimit()
	c.qmu.Unlock()
	c.wantVideo, c.wantAudio = video, audio
	rm.members[self.ID] = c
	if presenterRole(self.Role) {
		rm.presenters[self.ID] = c
	}
	s.mParticipants.Inc()
	webinar := rm.st.Mode == protocol.ModeWebinar
	roster := make([]protocol.Participant, 0, 16)
	for _, m := range rm.members {
		// A webinar's attendees are listed to presenters and hosts only
		// (deltas as they join): a 5,000-entry roster would not fit in one
		// message, nor should 5,000 joins cost 5,000 x 5,000 messages.
		if m != c && (!webinar || rm.visible(m.self)) {
			roster = append(roster, m.self)
		}
	}
	seq := rm.st.Seq
	snap := rm.st.Snapshot(self.ID)
	queue := snap.Queue
	snap.Queue = nil
	c.lastPos, c.lastCount = snap.Position, snap.Count
	allowed := rm.st.PublishAllowed(self.ID)
	if !allowed {
		video, audio = 0, 0
	}
	c.gotVideo, c.gotAudio = video, audio
	// Joined (and, for presenters, the queue in chunks at the same seq)
	// before any later room event: both are queued under the room lock.
	c.log = c.log.With("room", roomName, "participant", self.ID)
	var ice []protocol.ICEServer
	if s.cfg.ICEServers != nil && !b.SignalingOnly {
		ice = s.cfg.ICEServers(roomName, self.ID)
	}
	c.sendMsg(protocol.TypeJoined, id, seq, protocol.JoinedBody{Self: self, Room: roomName, Participants: roster, ServerTimeMs: time.Now().UnixMilli(), State: &snap, ICEServers: ice, Resume: s.resume.issue(roomName, self)})
	for i := 0; i < len(queue); i += queueChunk {
		c.sendMsg(protocol.TypeHands, "", seq, protocol.HandsBody{Hands: queue[i:min(i+queueChunk, len(queue))], Count: len(queue)})
	}
	if old == nil {
		s.roster(rm, c, protocol.TypeParticipantJoined, seq, self, self)
	}
	s.route(rm, c, "", ev)
	rm.mu.Unlock()
	s.mu.Unlock()

	if old != nil {
		old.sendError("", protocol.Errorf(protocol.ErrReplaced, "you joined from another connection"))
		if m := old.takeMedia(); m != nil {
			m.Close()
		}
		old.closeAfterFlush(websocket.StatusPolicyViolation, "replaced by a newer connection")
	}
	if b.SignalingOnly {
		c.log.Info("joined (signaling only)", "name", self.Name, "role", self.Role)
		return nil
	}
	ms, err := s.cfg.Media.Join(roomName, self.ID, c, video, audio)
	if err != nil {
		s.leave(c, false)
		return protocol.Errorf(protocol.ErrInternal, "media: %v", err)
	}
	if pc, ok := ms.(PublishController); ok && !allowed {
		pc.SetPublishAllowed(false)
	}
	s.mu.Lock()
	replaced := c.room != rm
	if !replaced {
		c.media = ms
	}
	s.mu.Unlock()
	if replaced {
		ms.Close()
		return nil
	}
	// Rights may have changed while the media session opened.
	if now := s.publishAllowed(c); now != allowed {
		s.setPublish(c, now)
	}
	c.log.Info("joined", "name", self.Name, "role", self.Role)
	return nil
}

// queueChunk is how many hands one hands message carries in a snapshot
// (about 100 bytes each: well under MaxMessageBytes).
const queueChunk = 400

func presenterRole(r protocol.Role) bool {
	return r == protocol.RolePresenter || r == protocol.RoleHost
}

// visible reports whether everyone in a webinar sees p in the roster:
// presenters, hosts and whoever is on stage. Caller holds rm.mu.
func (rm *roomState) visible(p protocol.Participant) bool {
	return presenterRole(p.Role) || rm.st.Stage[p.ID]
}

// roster sends a roster change about who to the room (except except): in a
// meeting to everyone, in a webinar about an attendee off stage only to
// presenters and hosts. Caller holds rm.mu.
func (s *Server) roster(rm *roomState, except *conn, typ string, seq uint64, who protocol.Participant, body any) {
	msg, err := protocol.Encode(typ, "", seq, body)
	if err != nil {
		return
	}
	targets := rm.members
	if rm.st.Mode == protocol.ModeWebinar && !rm.visible(who) {
		targets = rm.presenters
	}
	for _, m := range targets {
		if m != except {
			m.enqueue(msg)
		}
	}
}

// leave removes c from its room (idempotent). explicit is a leave the
// participant asked for: its hand goes at once; otherwise (connection lost)
// the room keeps its hand for the grace period.
func (s *Server) leave(c *conn, explicit bool) {
	s.mu.Lock()
	rm := c.room
	if rm == nil {
		s.mu.Unlock()
		return
	}
	rm.mu.Lock()
	if rm.members[c.self.ID] != c {
		rm.mu.Unlock()
		s.mu.Unlock()
		return
	}
	delete(rm.members, c.self.ID)
	delete(rm.presenters, c.self.ID)
	c.room = nil
	s.mParticipants.Dec()
	if explicit {
		s.resume.ended(rm.name, c.self.ID)
	}
	a := room.Action{Kind: room.KindLeave, AtMs: time.Now().UnixMilli(), By: c.self.ID, Explicit: explicit}
	var ev []room.Event
	if st, e, err := room.Apply(rm.st, a); err == nil {
		rm.st, ev = st, e
		s.logAction(rm, a)
	}
	seq := rm.st.Seq
	s.roster(rm, c, protocol.TypeParticipantLeft, seq, c.self, protocol.ParticipantLeftBody{ID: c.self.ID})
	s.route(rm, nil, "", ev)
	if !explicit {
		s.scheduleExpiry(rm)
	}
	s.maybeDropRoom(rm)
	rm.mu.Unlock()
	s.mu.Unlock()
	if m := c.takeMedia(); m != nil {
		m.Close()
	}
	c.log.Info("left", "explicit", explicit)
}

// maybeDropRoom forgets a room with no members and nobody within the grace
// period. Caller holds s.mu and rm.mu.
func (s *Server) maybeDropRoom(rm *roomState) {
	if len(rm.members) == 0 && rm.st.NextExpiryMs() == 0 && s.rooms[rm.name] == rm {
		delete(s.rooms, rm.name)
		s.mRooms.Dec()
		if rm.expiryTimer != nil {
			rm.expiryTimer.Stop()
		}
	}
}

// Rooms returns the number of open rooms and joined participants.
func (s *Server) Rooms() (rooms, participants int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.rooms {
		r.mu.Lock()
		participants += len(r.members)
		r.mu.Unlock()
	}
	return len(s.rooms), participants
}

// String describes the server for logs.
func (s *Server) String() string {
	r, p := s.Rooms()
	return fmt.Sprintf("podium signaling: %d rooms, %d participants", r, p)
}

func (c *conn) isJoined() bool {
	c.srv.mu.Lock()
	defer c.srv.mu.Unlock()
	return c.joined
}

func (c *conn) getMedia() MediaSession {
	c.srv.mu.Lock()
	defer c.srv.mu.Unlock()
	return c.media
}

func (c *conn) takeMedia() MediaSession {
	c.srv.mu.Lock()
	defer c.srv.mu.Unlock()
	m := c.media
	c.media = nil
	return m
}
