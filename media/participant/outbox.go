package participant

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/podiumhq/podium/signaling/client"
	"github.com/podiumhq/podium/signaling/protocol"
)

// Outbox is a signaling-only room connection that reconnects by itself and
// delivers room requests (chat, hands, votes, questions, ...) reliably:
// each request is retried, on the same connection or the next one, until
// the server acknowledges it or refuses it for good. Nothing is lost or
// duplicated across a reconnect, because every request carries an
// idempotency key the room dedupes on:
//
//   - chat and questions: a client message id (ClientMsgID), kept across
//     retries; a resend is acknowledged with the original message
//     (Applied false);
//   - hands: the click time; hands are last-writer-wins by (time, priority),
//     so a resent raise or lower with the same click time changes nothing
//     and is acknowledged with the hand's current position;
//   - poll votes and question upvotes: one per participant; a resend after
//     the first was applied is refused with conflict, which the outbox
//     reports as acknowledged (Applied false): the vote is recorded once.
//
// Requests are sent in the order they were made, and resent in that order
// after a reconnect. The server keeps a dropped participant's membership
// and hand for its grace period (30 s by default), so a reconnect within
// it resumes where the participant was.
type Outbox struct {
	cfg OutboxConfig
	log *slog.Logger

	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}

	mu      sync.Mutex
	conn    *client.Client
	gen     int // connection generation
	queue   []*outboxEntry
	byID    map[string]*outboxEntry
	joined  protocol.JoinedBody
	up      chan struct{} // closed while connected; replaced on disconnect
	fatal   error
	reconns int
	resent  int
	resume  string // resume token of the last join
}

// OutboxConfig configures an Outbox.
type OutboxConfig struct {
	URL   string // ws://host:port/ws or wss://
	Token string
	// Dial opens a signaling connection (default client.Dial).
	Dial func(ctx context.Context, url string) (*client.Client, error)
	// OnMessage sees every server message that is not an ack or error of
	// an outbox request (room events, joined snapshots after reconnects).
	// It runs on the connection's reader and must not block.
	OnMessage func(protocol.Envelope)
	// Backoff is the first delay between reconnect attempts (default
	// 100 ms, doubling up to MaxBackoff, default 2 s).
	Backoff, MaxBackoff time.Duration
	Logger              *slog.Logger

	// Join builds each join request (default: Token, signaling only).
	// resume is the resume token from the last joined answer ("" the
	// first time): a reconnect with it comes back as the same participant
	// even when the access token has expired.
	Join func(resume string) protocol.JoinBody
	// OnJoined sees the joined answer of every reconnect (not the first
	// join, which DialOutbox returns) before any later message of that
	// connection; OnDisconnect sees each lost connection before the
	// reconnect attempts. Both run on the outbox's reader.
	OnJoined     func(protocol.JoinedBody)
	OnDisconnect func(error)
}

type outboxEntry struct {
	typ  string
	body any
	id   string // request id on the current connection ("" when unsent)
	gen  int
	res  chan outboxResult
	sent int  // times sent
	once bool // not idempotent: never resent once it may have arrived
}

type outboxResult struct {
	ack protocol.AckBody
	err error
}

// ErrOutboxClosed is returned for requests pending when the outbox closes.
var ErrOutboxClosed = errors.New("outbox closed")

// ErrMaybeApplied is returned for a request that is not safe to repeat
// (DoOnce) when the connection dropped after it was sent and before the
// server answered: it may or may not have been applied.
var ErrMaybeApplied = errors.New("connection lost before the server answered; the request may have been applied")

// ErrNotConnected is returned by Send while the outbox is reconnecting.
var ErrNotConnected = errors.New("not connected (reconnecting)")

// DialOutbox connects and joins (signaling only), returning once joined
// the first time; afterwards it reconnects by itself until Close.
func DialOutbox(ctx context.Context, cfg OutboxConfig) (*Outbox, error) {
	if cfg.Dial == nil {
		cfg.Dial = client.Dial
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = 100 * time.Millisecond
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 2 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	octx, cancel := context.WithCancel(context.Background())
	o := &Outbox{cfg: cfg, log: cfg.Logger, ctx: octx, cancel: cancel, done: make(chan struct{}), byID: map[string]*outboxEntry{}, up: make(chan struct{})}
	c, j, err := o.connect(ctx)
	if err != nil {
		cancel()
		return nil, err
	}
	o.mu.Lock()
	o.attach(c, j)
	o.mu.Unlock()
	go o.run(c)
	return o, nil
}

// connect dials and joins.
func (o *Outbox) connect(ctx context.Context) (*client.Client, protocol.JoinedBody, error) {
	var j protocol.JoinedBody
	c, err := o.cfg.Dial(ctx, o.cfg.URL)
	if err != nil {
		return nil, j, err
	}
	o.mu.Lock()
	resume := o.resume
	o.mu.Unlock()
	jb := protocol.JoinBody{Token: o.cfg.Token, SignalingOnly: true}
	if o.cfg.Join != nil {
		jb = o.cfg.Join(resume)
	}
	jb.ClientTimeMs = time.Now().UnixMilli()
	if _, err := c.Send(ctx, protocol.TypeJoin, jb); err != nil {
		c.Close()
		return nil, j, err
	}
	timeout := time.NewTimer(10 * time.Second)
	defer timeout.Stop()
	for {
		select {
		case <-ctx.Done():
			c.Close()
			return nil, j, ctx.Err()
		case <-timeout.C:
			c.Close()
			return nil, j, errors.New("no answer to join within 10 s")
		case env, ok := <-c.Messages():
			if !ok {
				c.Close() // the socket, not just the reader
				return nil, j, fmt.Errorf("signaling closed during join: %v", c.Err())
			}
			switch env.Type {
			case protocol.TypeJoined:
				if err := json.Unmarshal(env.Body, &j); err != nil {
					c.Close()
					return nil, j, err
				}
				return c, j, nil
			case protocol.TypeError:
				var e protocol.ErrorBody
				_ = json.Unmarshal(env.Body, &e)
				c.Close()
				return nil, j, &protocol.Error{Code: e.Code, Message: e.Message}
			}
		}
	}
}

// attach makes c the current connection and sends every pending request
// on it, in order. Caller holds o.mu.
func (o *Outbox) attach(c *client.Client, j protocol.JoinedBody) {
	o.conn, o.joined = c, j
	if j.Resume != "" {
		o.resume = j.Resume
	}
	o.gen++
	close(o.up)
	for _, e := range o.queue {
		if e.sent > 0 {
			o.resent++
		}
		o.sendLocked(e)
	}
}

// sendLocked sends e on the current connection (caller holds o.mu). A
// failed write leaves e unsent: the reader sees the connection end and the
// next connection sends it.
func (o *Outbox) sendLocked(e *outboxEntry) {
	if o.conn == nil {
		return
	}
	if e.id != "" && e.gen == o.gen {
		return // already on this connection
	}
	ctx, cancel := context.WithTimeout(o.ctx, 5*time.Second)
	id, err := o.conn.Send(ctx, e.typ, e.body)
	cancel()
	if err != nil {
		return
	}
	if e.id != "" {
		delete(o.byID, e.id)
	}
	e.id, e.gen = id, o.gen
	e.sent++
	o.byID[id] = e
}

// run reads the current connection and reconnects when it ends.
func (o *Outbox) run(c *client.Client) {
	defer close(o.done)
	for {
		var replaced *protocol.Error
		for env := range c.Messages() {
			if env.Type == protocol.TypeError {
				var eb protocol.ErrorBody
				if json.Unmarshal(env.Body, &eb) == nil && eb.Code == protocol.ErrReplaced {
					replaced = &protocol.Error{Code: eb.Code, Message: eb.Message}
				}
			}
			o.dispatch(env)
		}
		if replaced != nil {
			// The same participant joined from another connection: coming
			// back would throw that one out in turn.
			o.log.Info("outbox: replaced by another connection; not reconnecting")
			o.shutdown(replaced)
			if o.cfg.OnDisconnect != nil {
				o.cfg.OnDisconnect(replaced)
			}
			return
		}
		o.mu.Lock()
		o.conn = nil
		o.up = make(chan struct{})
		for id := range o.byID {
			delete(o.byID, id)
		}
		// A request that is not safe to repeat and may have reached the
		// server fails rather than risk being applied twice.
		kept := o.queue[:0]
		for _, e := range o.queue {
			if e.once && e.sent > 0 {
				e.res <- outboxResult{err: ErrMaybeApplied}
				continue
			}
			kept = append(kept, e)
		}
		o.queue = kept
		o.mu.Unlock()
		c.Close()
		if o.cfg.OnDisconnect != nil && o.ctx.Err() == nil {
			o.cfg.OnDisconnect(c.Err())
		}
		delay := o.cfg.Backoff
		var j protocol.JoinedBody
		for {
			select {
			case <-o.ctx.Done():
				o.shutdown(ErrOutboxClosed)
				return
			case <-time.After(delay):
			}
			cctx, cancel := context.WithTimeout(o.ctx, 10*time.Second)
			nc, nj, err := o.connect(cctx)
			cancel()
			if err == nil {
				c, j = nc, nj
				break
			}
			var pe *protocol.Error
			if errors.As(err, &pe) && (pe.Code == protocol.ErrUnauthorized || pe.Code == protocol.ErrTokenExpired || pe.Code == protocol.ErrRoomFull || pe.Code == protocol.ErrServerFull) {
				o.log.Warn("outbox: rejoin refused; giving up", "err", err)
				o.shutdown(err)
				return
			}
			o.log.Debug("outbox: reconnect failed", "err", err)
			delay = min(2*delay, o.cfg.MaxBackoff)
		}
		if o.cfg.OnJoined != nil {
			o.cfg.OnJoined(j)
		}
		o.mu.Lock()
		o.reconns++
		o.attach(c, j)
		o.mu.Unlock()
	}
}

// dispatch resolves acks and errors of outbox requests and passes every
// other message on.
func (o *Outbox) dispatch(env protocol.Envelope) {
	if env.ID != "" && (env.Type == protocol.TypeAck || env.Type == protocol.TypeError) {
		o.mu.Lock()
		e := o.byID[env.ID]
		if e != nil {
			res, retry := o.result(e, env)
			if retry {
				// Transient: send again shortly on this connection.
				delete(o.byID, env.ID)
				e.id = ""
				gen := o.gen
				time.AfterFunc(500*time.Millisecond, func() {
					o.mu.Lock()
					defer o.mu.Unlock()
					if o.gen == gen {
						o.sendLocked(e)
					}
				})
				o.mu.Unlock()
				return
			}
			delete(o.byID, env.ID)
			o.remove(e)
			e.res <- res
			o.mu.Unlock()
			return
		}
		o.mu.Unlock()
	}
	if o.cfg.OnMessage != nil {
		o.cfg.OnMessage(env)
	}
}

// result turns the server's answer to e into its outcome (retry: a
// transient refusal).
func (o *Outbox) result(e *outboxEntry, env protocol.Envelope) (outboxResult, bool) {
	if env.Type == protocol.TypeAck {
		var ack protocol.AckBody
		err := json.Unmarshal(env.Body, &ack)
		return outboxResult{ack: ack, err: err}, false
	}
	var eb protocol.ErrorBody
	_ = json.Unmarshal(env.Body, &eb)
	switch eb.Code {
	case protocol.ErrRateLimited, protocol.ErrNotJoined, protocol.ErrInternal:
		return outboxResult{}, true
	case protocol.ErrConflict:
		if e.sent > 1 && (e.typ == protocol.TypePollVote || e.typ == protocol.TypeQuestionUpvote) {
			// A resend of a vote the server already counted.
			return outboxResult{ack: protocol.AckBody{Type: e.typ, Applied: false}}, false
		}
	}
	return outboxResult{err: &protocol.Error{Code: eb.Code, Message: eb.Message}}, false
}

// remove drops e from the queue (caller holds o.mu).
func (o *Outbox) remove(e *outboxEntry) {
	for i, x := range o.queue {
		if x == e {
			o.queue = append(o.queue[:i], o.queue[i+1:]...)
			return
		}
	}
}

func (o *Outbox) shutdown(err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.fatal == nil {
		o.fatal = err
	}
	for _, e := range o.queue {
		e.res <- outboxResult{err: o.fatal}
	}
	o.queue = nil
	if o.conn != nil {
		o.conn.Close()
		o.conn = nil
	}
}

// Do sends a room request and waits until it is acknowledged (retrying
// across reconnects) or refused for good. ctx ending gives up waiting but
// the request may still be delivered later: callers that retry must reuse
// the same idempotency key.
func (o *Outbox) Do(ctx context.Context, typ string, body any) (protocol.AckBody, error) {
	return o.do(ctx, &outboxEntry{typ: typ, body: body, res: make(chan outboxResult, 1)})
}

// DoOnce is Do for a request that is not safe to repeat (creating a
// poll): it waits for a connection like Do, but if the connection drops
// after it was sent and before the answer, it fails with ErrMaybeApplied.
func (o *Outbox) DoOnce(ctx context.Context, typ string, body any) (protocol.AckBody, error) {
	return o.do(ctx, &outboxEntry{typ: typ, body: body, res: make(chan outboxResult, 1), once: true})
}

func (o *Outbox) do(ctx context.Context, e *outboxEntry) (protocol.AckBody, error) {
	o.mu.Lock()
	if o.fatal != nil {
		err := o.fatal
		o.mu.Unlock()
		return protocol.AckBody{}, err
	}
	o.queue = append(o.queue, e)
	o.sendLocked(e)
	o.mu.Unlock()
	select {
	case r := <-e.res:
		return r.ack, r.err
	case <-ctx.Done():
		return protocol.AckBody{}, ctx.Err()
	}
}

// SendChat sends a chat message with a fresh idempotency key.
func (o *Outbox) SendChat(ctx context.Context, text string) (protocol.AckBody, error) {
	return o.Do(ctx, protocol.TypeChatSend, protocol.ChatSendBody{ClientMsgID: NewClientMsgID(), Text: text})
}

// RaiseHand raises the hand; click (the user's click) is its key.
func (o *Outbox) RaiseHand(ctx context.Context, click time.Time) (protocol.AckBody, error) {
	return o.Do(ctx, protocol.TypeHandRaise, protocol.HandBody{ClickTimeMs: click.UnixMilli()})
}

// LowerHand lowers the hand; click is its key.
func (o *Outbox) LowerHand(ctx context.Context, click time.Time) (protocol.AckBody, error) {
	return o.Do(ctx, protocol.TypeHandLower, protocol.HandBody{ClickTimeMs: click.UnixMilli()})
}

// Vote votes in a poll (recorded once whatever the retries).
func (o *Outbox) Vote(ctx context.Context, poll, option int) (protocol.AckBody, error) {
	return o.Do(ctx, protocol.TypePollVote, protocol.PollVoteBody{PollID: poll, Option: option})
}

// Send sends a message that needs no retry (media negotiation, pings) on
// the current connection and returns its request id; ErrNotConnected
// while reconnecting.
func (o *Outbox) Send(ctx context.Context, typ string, body any) (string, error) {
	o.mu.Lock()
	c := o.conn
	o.mu.Unlock()
	if c == nil {
		return "", ErrNotConnected
	}
	return c.Send(ctx, typ, body)
}

// Reconnect drops the current connection (a dead link the socket has not
// noticed yet); the outbox reconnects as after any loss.
func (o *Outbox) Reconnect() {
	o.mu.Lock()
	c := o.conn
	o.mu.Unlock()
	if c != nil {
		_ = c.Close()
	}
}

// Leave tells the server the participant leaves (its hand goes at once and
// its resume token stops working), then closes like Close.
func (o *Outbox) Leave(ctx context.Context) error {
	o.mu.Lock()
	c := o.conn
	o.mu.Unlock()
	if c != nil {
		_, _ = c.Send(ctx, protocol.TypeLeave, nil)
	}
	return o.Close()
}

// Joined is the latest join answer (the room snapshot at the last
// (re)connect).
func (o *Outbox) Joined() protocol.JoinedBody {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.joined
}

// Pending is the number of requests not yet acknowledged.
func (o *Outbox) Pending() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.queue)
}

// Stats reports reconnects and requests sent again on a new connection.
func (o *Outbox) Stats() (reconnects, resent int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.reconns, o.resent
}

// Connected is closed while the outbox has a joined connection (a fresh
// channel after each disconnect).
func (o *Outbox) Connected() <-chan struct{} {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.up
}

// Err is why the outbox stopped (nil while it runs).
func (o *Outbox) Err() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.fatal
}

// Close stops reconnecting and closes the connection; pending requests
// fail with ErrOutboxClosed.
func (o *Outbox) Close() error {
	o.cancel()
	o.mu.Lock()
	if o.conn != nil {
		o.conn.Close()
	}
	o.mu.Unlock()
	<-o.done
	return nil
}
