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
}

// Server handles signaling for all rooms.
type Server struct {
	cfg   Config
	log   *slog.Logger
	mu    sync.Mutex
	rooms map[string]*room

	mRooms, mParticipants prometheus.Gauge
	mMessages             *prometheus.CounterVec
	mErrors               *prometheus.CounterVec
}

type room struct {
	name    string
	seq     uint64
	members map[string]*conn
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
	f := promauto.With(cfg.Registerer)
	return &Server{
		cfg: cfg, log: cfg.Logger, rooms: map[string]*room{},
		mRooms:        f.NewGauge(prometheus.GaugeOpts{Name: "podium_rooms", Help: "Open rooms."}),
		mParticipants: f.NewGauge(prometheus.GaugeOpts{Name: "podium_participants", Help: "Joined participants."}),
		mMessages:     f.NewCounterVec(prometheus.CounterOpts{Name: "podium_signaling_messages_total", Help: "Signaling messages received, by type."}, []string{"type"}),
		mErrors:       f.NewCounterVec(prometheus.CounterOpts{Name: "podium_signaling_errors_total", Help: "Errors sent to clients, by code."}, []string{"code"}),
	}
}

// conn is one WebSocket client.
type conn struct {
	srv    *Server
	ws     *websocket.Conn
	remote string
	send   chan []byte
	done   chan struct{}
	once   sync.Once
	log    *slog.Logger

	// Set at join; guarded by srv.mu for roster use.
	self  protocol.Participant
	room  *room
	media MediaSession
}

// ServeHTTP upgrades to WebSocket and runs the connection until it closes.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: s.cfg.InsecureSkipOriginCheck})
	if err != nil {
		return
	}
	// Hard limit: far over the protocol limit, so an oversized message still
	// gets a protocol error; beyond this the socket is closed with 1009.
	ws.SetReadLimit(4 * protocol.MaxMessageBytes)
	c := &conn{srv: s, ws: ws, remote: r.RemoteAddr, send: make(chan []byte, s.cfg.SendQueue), done: make(chan struct{}), log: s.log.With("remote", r.RemoteAddr)}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	go c.writeLoop(ctx)
	c.readLoop(ctx)
	c.close(websocket.StatusNormalClosure, "")
	s.leave(c)
}

func (c *conn) writeLoop(ctx context.Context) {
	for {
		select {
		case <-c.done:
			return
		case msg := <-c.send:
			wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			err := c.ws.Write(wctx, websocket.MessageText, msg)
			cancel()
			if err != nil {
				c.close(websocket.StatusGoingAway, "write failed")
				return
			}
		}
	}
}

func (c *conn) close(code websocket.StatusCode, reason string) {
	c.once.Do(func() {
		close(c.done)
		go c.ws.Close(code, reason)
	})
}

// enqueue queues a message; a client whose queue is full is disconnected.
func (c *conn) enqueue(msg []byte) {
	select {
	case <-c.done:
	case c.send <- msg:
	default:
		c.log.Warn("send queue full: disconnecting slow client")
		c.close(websocket.StatusPolicyViolation, "send queue full")
	}
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
		c.sendMsg(protocol.TypePong, env.ID, 0, protocol.PongBody{ClientTimeMs: b.ClientTimeMs, ServerTimeMs: time.Now().UnixMilli()})
		return nil
	}
	media := c.getMedia()
	if media == nil {
		return protocol.Errorf(protocol.ErrNotJoined, "%s before join", env.Type)
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
		if err := media.AddPublishSlots(b.Video, b.Audio); err != nil {
			return protocol.Errorf(protocol.ErrForbidden, "%v", err)
		}
	case protocol.TypeLeave:
		s.leave(c)
		c.close(websocket.StatusNormalClosure, "left")
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
	if c.getMedia() != nil {
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

	s.mu.Lock()
	rm := s.rooms[roomName]
	if rm == nil {
		rm = &room{name: roomName, members: map[string]*conn{}}
		s.rooms[roomName] = rm
		s.mRooms.Inc()
	}
	old := rm.members[self.ID]
	if old == nil && len(rm.members) >= s.cfg.MaxParticipants {
		s.mu.Unlock()
		return protocol.Errorf(protocol.ErrRoomFull, "room %q is full (%d participants)", roomName, s.cfg.MaxParticipants)
	}
	if old != nil {
		// Clean replacement: the newest connection wins.
		delete(rm.members, self.ID)
		s.mParticipants.Dec()
		old.room = nil
	}
	c.self, c.room = self, rm
	rm.members[self.ID] = c
	s.mParticipants.Inc()
	roster := make([]protocol.Participant, 0, len(rm.members))
	for _, m := range rm.members {
		if m != c {
			roster = append(roster, m.self)
		}
	}
	rm.seq++
	seq := rm.seq
	s.mu.Unlock()

	if old != nil {
		old.sendError("", protocol.Errorf(protocol.ErrReplaced, "you joined from another connection"))
		if m := old.takeMedia(); m != nil {
			m.Close()
		}
		old.close(websocket.StatusPolicyViolation, "replaced by a newer connection")
	}

	c.log = c.log.With("room", roomName, "participant", self.ID)
	c.sendMsg(protocol.TypeJoined, id, seq, protocol.JoinedBody{Self: self, Room: roomName, Participants: roster, ServerTimeMs: time.Now().UnixMilli()})
	if old == nil {
		s.broadcast(rm, c, protocol.TypeParticipantJoined, seq, self)
	}
	ms, err := s.cfg.Media.Join(roomName, self.ID, c, video, audio)
	if err != nil {
		s.leave(c)
		return protocol.Errorf(protocol.ErrInternal, "media: %v", err)
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
	c.log.Info("joined", "name", self.Name, "role", self.Role)
	return nil
}

func (s *Server) broadcast(rm *room, except *conn, typ string, seq uint64, body any) {
	msg, err := protocol.Encode(typ, "", seq, body)
	if err != nil {
		return
	}
	s.mu.Lock()
	targets := make([]*conn, 0, len(rm.members))
	for _, m := range rm.members {
		if m != except {
			targets = append(targets, m)
		}
	}
	s.mu.Unlock()
	for _, m := range targets {
		m.enqueue(msg)
	}
}

// leave removes c from its room (idempotent).
func (s *Server) leave(c *conn) {
	s.mu.Lock()
	rm := c.room
	if rm == nil || rm.members[c.self.ID] != c {
		s.mu.Unlock()
		return
	}
	delete(rm.members, c.self.ID)
	c.room = nil
	s.mParticipants.Dec()
	rm.seq++
	seq := rm.seq
	if len(rm.members) == 0 {
		delete(s.rooms, rm.name)
		s.mRooms.Dec()
	}
	s.mu.Unlock()
	if m := c.takeMedia(); m != nil {
		m.Close()
	}
	c.log.Info("left")
	s.broadcast(rm, c, protocol.TypeParticipantLeft, seq, protocol.ParticipantLeftBody{ID: c.self.ID})
}

// Rooms returns the number of open rooms and joined participants.
func (s *Server) Rooms() (rooms, participants int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.rooms {
		participants += len(r.members)
	}
	return len(s.rooms), participants
}

// String describes the server for logs.
func (s *Server) String() string {
	r, p := s.Rooms()
	return fmt.Sprintf("podium signaling: %d rooms, %d participants", r, p)
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
