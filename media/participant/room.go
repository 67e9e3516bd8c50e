package participant

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"sort"
	"sync"
	"time"

	"github.com/podiumhq/podium/signaling/protocol"
)

// RoomState is the room as the server described it to this participant:
// the snapshot sent on join, kept up to date by the server's events.
// Times are server clock, ms since the Unix epoch.
type RoomState struct {
	Seq  uint64
	Mode string // protocol.ModeMeeting or ModeWebinar
	// Stage lists who is on stage; Spotlight is shown large.
	Stage protocol.StageBody
	// Queue is the hand-raise queue in order, (TimeMs, ID): presenters and
	// hosts only (attendees are not sent it).
	Queue []protocol.HandEntry
	// Position is this participant's place in the queue (1-based, 0: hand
	// down); Count the number of raised hands (attendees: refreshed at most
	// once a second by the server).
	Position, Count int
	Chat            []protocol.ChatMessage
	QAOpen          bool
	Questions       []protocol.Question
	Polls           []protocol.Poll
	PublishAllowed  bool
}

// roomClient keeps RoomState, matches requests with their acks and runs
// the NTP-style clock exchange with the server.
type roomClient struct {
	p       *Participant
	mu      sync.Mutex
	st      RoomState
	queue   map[string]protocol.HandEntry
	pings   map[string]int64 // ping id -> client send time (ms)
	last    *protocol.PingExchange
	offset  int64 // server - client (ms), from the lowest-RTT exchange
	bestRTT int64
	nPongs  int
}

// chatHistory bounds the chat kept locally (as the server's default).
const chatHistory = 200

// roomSnapshot is the state part of a roomClient.
type roomSnapshot struct {
	st    RoomState
	queue map[string]protocol.HandEntry
}

func newRoomState(j protocol.JoinedBody) roomSnapshot {
	r := roomSnapshot{queue: map[string]protocol.HandEntry{}}
	if s := j.State; s != nil {
		r.st = RoomState{Seq: s.Seq, Mode: s.Mode, Stage: s.Stage, Position: s.Position, Count: s.Count, Chat: s.Chat,
			QAOpen: s.QAOpen, Questions: s.Questions, Polls: s.Polls, PublishAllowed: s.PublishAllowed}
		for _, h := range s.Queue {
			r.queue[h.ID] = h
		}
	}
	return r
}

func newRoomClient(p *Participant, j protocol.JoinedBody) *roomClient {
	snap := newRoomState(j)
	rc := &roomClient{p: p, st: snap.st, queue: snap.queue, pings: map[string]int64{}, bestRTT: -1}
	if j.ServerTimeMs != 0 {
		rc.offset = j.ServerTimeMs - time.Now().UnixMilli()
	}
	p.wg.Add(1)
	go rc.pingLoop()
	return rc
}

// pingLoop pings at once, twice more quickly, then every 5 s; each ping
// reports the previous exchange so the server can estimate this client's
// clock offset (protocol.PingBody).
func (rc *roomClient) pingLoop() {
	defer rc.p.wg.Done()
	for i := 0; ; i++ {
		rc.mu.Lock()
		body := protocol.PingBody{ClientTimeMs: time.Now().UnixMilli(), Last: rc.last}
		id, err := rc.p.sig.Send(rc.p.ctx, protocol.TypePing, body)
		if err == nil {
			rc.pings[id] = body.ClientTimeMs
		}
		rc.mu.Unlock()
		d := 5 * time.Second
		if i < 3 {
			d = 200 * time.Millisecond
		}
		select {
		case <-rc.p.ctx.Done():
			return
		case <-time.After(d):
		}
	}
}

// handle consumes room messages, acks and pongs (true: consumed).
func (rc *roomClient) handle(env protocol.Envelope) bool {
	now := time.Now().UnixMilli()
	rc.mu.Lock()
	consumed := true
	switch env.Type {
	case protocol.TypePong:
		var b protocol.PongBody
		if json.Unmarshal(env.Body, &b) == nil {
			if c0, ok := rc.pings[env.ID]; ok {
				delete(rc.pings, env.ID)
				rc.last = &protocol.PingExchange{ClientSentMs: c0, ServerTimeMs: b.ServerTimeMs, ClientRecvMs: now}
				if rtt := now - c0; rc.bestRTT < 0 || rtt <= rc.bestRTT || rc.nPongs%8 == 0 {
					rc.bestRTT, rc.offset = rtt, b.ServerTimeMs-(c0+now)/2
				}
				rc.nPongs++
			}
		}
	case protocol.TypeAck:
		var b protocol.AckBody
		if json.Unmarshal(env.Body, &b) == nil {
			switch b.Type {
			case protocol.TypeHandRaise, protocol.TypeHandLower, protocol.TypeHandDismiss, protocol.TypeHandsLowerAll:
				if b.Type != protocol.TypeHandDismiss || b.Position != 0 {
					rc.st.Position = b.Position
				}
				rc.st.Count = b.Count
			}
		}
	case protocol.TypeHands:
		var b protocol.HandsBody
		if json.Unmarshal(env.Body, &b) == nil {
			for _, h := range b.Hands {
				if h.Raised {
					rc.queue[h.ID] = h
				} else {
					delete(rc.queue, h.ID)
				}
			}
			rc.st.Count = b.Count
		}
	case protocol.TypeHandPosition, protocol.TypeHandCount:
		var b protocol.HandPositionBody
		if json.Unmarshal(env.Body, &b) == nil {
			if env.Type == protocol.TypeHandPosition {
				rc.st.Position = b.Position
			}
			rc.st.Count = b.Count
		}
	case protocol.TypeStage:
		_ = json.Unmarshal(env.Body, &rc.st.Stage)
		rc.st.PublishAllowed = rc.st.Mode != protocol.ModeWebinar || presenterRole(rc.p.self.Role) || contains(rc.st.Stage.Stage, rc.p.self.ID)
	case protocol.TypeRoomMode:
		var b protocol.ModeBody
		if json.Unmarshal(env.Body, &b) == nil {
			rc.st.Mode = b.Mode
			rc.st.PublishAllowed = rc.st.Mode != protocol.ModeWebinar || presenterRole(rc.p.self.Role) || contains(rc.st.Stage.Stage, rc.p.self.ID)
		}
	case protocol.TypeChat:
		var m protocol.ChatMessage
		if json.Unmarshal(env.Body, &m) == nil {
			rc.st.Chat = append(rc.st.Chat, m)
			if over := len(rc.st.Chat) - chatHistory; over > 0 {
				rc.st.Chat = append([]protocol.ChatMessage(nil), rc.st.Chat[over:]...)
			}
		}
	case protocol.TypeQuestion:
		var q protocol.Question
		if json.Unmarshal(env.Body, &q) == nil {
			replaced := false
			for i := range rc.st.Questions {
				if rc.st.Questions[i].ID == q.ID {
					rc.st.Questions[i], replaced = q, true
				}
			}
			if !replaced {
				rc.st.Questions = append(rc.st.Questions, q)
			}
		}
	case protocol.TypeQAState:
		var b protocol.QAOpenBody
		if json.Unmarshal(env.Body, &b) == nil {
			rc.st.QAOpen = b.Open
		}
	case protocol.TypePoll:
		var pl protocol.Poll
		if json.Unmarshal(env.Body, &pl) == nil {
			replaced := false
			for i := range rc.st.Polls {
				if rc.st.Polls[i].ID == pl.ID {
					rc.st.Polls[i], replaced = pl, true
				}
			}
			if !replaced {
				rc.st.Polls = append(rc.st.Polls, pl)
			}
		}
	default:
		consumed = false
	}
	if consumed && env.Seq > rc.st.Seq {
		rc.st.Seq = env.Seq
	}
	rc.mu.Unlock()
	if consumed && env.Type != protocol.TypePong {
		rc.p.emit(Event{Type: env.Type})
	}
	return consumed
}

func presenterRole(r protocol.Role) bool {
	return r == protocol.RolePresenter || r == protocol.RoleHost
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// request sends a room request through the outbox and waits for its ack
// (or the server's refusal, returned as a *protocol.Error). A request made
// while reconnecting waits for the connection; one in flight when the
// connection drops is sent again on the next (every room request carries
// its idempotency key: see Outbox), except those that are not safe to
// repeat (creating a poll), which fail with ErrMaybeApplied.
func (rc *roomClient) request(ctx context.Context, typ string, body any) (protocol.AckBody, error) {
	var ack protocol.AckBody
	var err error
	if typ == protocol.TypePollCreate {
		ack, err = rc.p.sig.DoOnce(ctx, typ, body)
	} else {
		ack, err = rc.p.sig.Do(ctx, typ, body)
	}
	if err != nil {
		return ack, err
	}
	switch ack.Type {
	case protocol.TypeHandRaise, protocol.TypeHandLower, protocol.TypeHandDismiss, protocol.TypeHandsLowerAll:
		rc.mu.Lock()
		if ack.Type != protocol.TypeHandDismiss || ack.Position != 0 {
			rc.st.Position = ack.Position
		}
		rc.st.Count = ack.Count
		rc.mu.Unlock()
	}
	return ack, nil
}

// reset replaces the room state with the snapshot of a rejoin.
func (rc *roomClient) reset(j protocol.JoinedBody) {
	fresh := newRoomState(j)
	rc.mu.Lock()
	rc.st = fresh.st
	rc.queue = fresh.queue
	rc.pings = map[string]int64{}
	rc.last = nil
	rc.mu.Unlock()
	rc.p.emit(Event{Type: protocol.TypeJoined})
}

// RoomState returns a copy of the room state; Queue is in queue order.
func (p *Participant) RoomState() RoomState {
	rc := p.room
	rc.mu.Lock()
	defer rc.mu.Unlock()
	st := rc.st
	st.Chat = append([]protocol.ChatMessage(nil), rc.st.Chat...)
	st.Questions = append([]protocol.Question(nil), rc.st.Questions...)
	st.Polls = append([]protocol.Poll(nil), rc.st.Polls...)
	st.Stage.Stage = append([]string(nil), rc.st.Stage.Stage...)
	st.Queue = make([]protocol.HandEntry, 0, len(rc.queue))
	for _, h := range rc.queue {
		st.Queue = append(st.Queue, h)
	}
	sort.Slice(st.Queue, func(i, j int) bool {
		a, b := st.Queue[i], st.Queue[j]
		return a.TimeMs < b.TimeMs || (a.TimeMs == b.TimeMs && a.ID < b.ID)
	})
	return st
}

// ClockOffset is the estimated server clock minus this machine's clock,
// from the lowest-round-trip ping exchange (NTP-style).
func (p *Participant) ClockOffset() time.Duration {
	p.room.mu.Lock()
	defer p.room.mu.Unlock()
	return time.Duration(p.room.offset) * time.Millisecond
}

// RaiseHand raises this participant's hand; click is when the user clicked
// (this machine's clock). The ack has the hand's server time, position and
// count.
func (p *Participant) RaiseHand(ctx context.Context, click time.Time) (protocol.AckBody, error) {
	return p.room.request(ctx, protocol.TypeHandRaise, protocol.HandBody{ClickTimeMs: click.UnixMilli()})
}

// LowerHand lowers this participant's hand (click: when the user clicked).
func (p *Participant) LowerHand(ctx context.Context, click time.Time) (protocol.AckBody, error) {
	return p.room.request(ctx, protocol.TypeHandLower, protocol.HandBody{ClickTimeMs: click.UnixMilli()})
}

// DismissHand lowers another participant's hand (presenters and hosts).
func (p *Participant) DismissHand(ctx context.Context, target string) (protocol.AckBody, error) {
	return p.room.request(ctx, protocol.TypeHandDismiss, protocol.HandBody{ClickTimeMs: time.Now().UnixMilli(), Target: target})
}

// LowerAllHands lowers every hand raised before now (presenters and hosts).
func (p *Participant) LowerAllHands(ctx context.Context) (protocol.AckBody, error) {
	return p.room.request(ctx, protocol.TypeHandsLowerAll, protocol.HandBody{ClickTimeMs: time.Now().UnixMilli()})
}

// Spotlight brings target on stage (on) or takes them off (presenters and
// hosts). In a webinar this grants or revokes their publish rights.
func (p *Participant) Spotlight(ctx context.Context, target string, on bool) (protocol.AckBody, error) {
	return p.room.request(ctx, protocol.TypeStageSet, protocol.StageSetBody{Target: target, On: on})
}

// SetMode switches the room between protocol.ModeMeeting and ModeWebinar
// (presenters and hosts).
func (p *Participant) SetMode(ctx context.Context, mode string) (protocol.AckBody, error) {
	return p.room.request(ctx, protocol.TypeRoomMode, protocol.ModeBody{Mode: mode})
}

// NewClientMsgID returns a random id for SendChat and AskQuestion; reuse
// it when retrying the same message.
func NewClientMsgID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// SendChat sends a chat message; retrying with the same clientMsgID never
// duplicates it.
func (p *Participant) SendChat(ctx context.Context, clientMsgID, text string) (protocol.AckBody, error) {
	return p.room.request(ctx, protocol.TypeChatSend, protocol.ChatSendBody{ClientMsgID: clientMsgID, Text: text})
}

// AskQuestion asks in Q&A (clientMsgID makes retries safe).
func (p *Participant) AskQuestion(ctx context.Context, clientMsgID, text string) (protocol.AckBody, error) {
	return p.room.request(ctx, protocol.TypeQuestionAsk, protocol.QuestionAskBody{ClientMsgID: clientMsgID, Text: text})
}

// UpvoteQuestion upvotes a question (once).
func (p *Participant) UpvoteQuestion(ctx context.Context, id int) (protocol.AckBody, error) {
	return p.room.request(ctx, protocol.TypeQuestionUpvote, protocol.QuestionRefBody{QuestionID: id})
}

// AnswerQuestion marks a question answered (presenters and hosts).
func (p *Participant) AnswerQuestion(ctx context.Context, id int) (protocol.AckBody, error) {
	return p.room.request(ctx, protocol.TypeQuestionAnswer, protocol.QuestionRefBody{QuestionID: id})
}

// DismissQuestion dismisses a question (presenters and hosts).
func (p *Participant) DismissQuestion(ctx context.Context, id int) (protocol.AckBody, error) {
	return p.room.request(ctx, protocol.TypeQuestionDismiss, protocol.QuestionRefBody{QuestionID: id})
}

// SetQAOpen opens or closes Q&A (presenters and hosts).
func (p *Participant) SetQAOpen(ctx context.Context, open bool) (protocol.AckBody, error) {
	return p.room.request(ctx, protocol.TypeQAOpen, protocol.QAOpenBody{Open: open})
}

// CreatePoll creates a poll (presenters and hosts); the ack has its id.
func (p *Participant) CreatePoll(ctx context.Context, question string, options []string) (protocol.AckBody, error) {
	return p.room.request(ctx, protocol.TypePollCreate, protocol.PollCreateBody{Question: question, Options: options})
}

// Vote votes for option (0-based) in a poll (once).
func (p *Participant) Vote(ctx context.Context, poll, option int) (protocol.AckBody, error) {
	return p.room.request(ctx, protocol.TypePollVote, protocol.PollVoteBody{PollID: poll, Option: option})
}

// ClosePoll closes a poll and publishes its results (presenters and hosts).
func (p *Participant) ClosePoll(ctx context.Context, poll int) (protocol.AckBody, error) {
	return p.room.request(ctx, protocol.TypePollClose, protocol.PollRefBody{PollID: poll})
}
