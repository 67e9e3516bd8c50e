package protocol

// Room messages: the hand-raise queue, the stage (spotlight), chat, Q&A and
// polls. Requests carry an id; the server answers each accepted request
// with an ack (AckBody, same id) and refuses others with an error (same id).
// The rules behind them live in package room.
//
// Times are ms since the Unix epoch. A time a client sends (ClickTimeMs) is
// on the client's clock; every time the server sends is on the server's
// clock.
const (
	// Client to server.
	TypeHandRaise       = "hand-raise"       // HandBody: raise one's own hand
	TypeHandLower       = "hand-lower"       // HandBody: lower one's own hand
	TypeHandDismiss     = "hand-dismiss"     // HandBody with Target (presenter/host)
	TypeHandsLowerAll   = "hands-lower-all"  // HandBody (presenter/host)
	TypeStageSet        = "stage-set"        // StageSetBody (presenter/host)
	TypeChatSend        = "chat-send"        // ChatSendBody
	TypeQuestionAsk     = "question-ask"     // QuestionAskBody
	TypeQuestionUpvote  = "question-upvote"  // QuestionRefBody
	TypeQuestionAnswer  = "question-answer"  // QuestionRefBody (presenter/host)
	TypeQuestionDismiss = "question-dismiss" // QuestionRefBody (presenter/host)
	TypeQAOpen          = "qa-open"          // QAOpenBody (presenter/host): open or close Q&A
	TypePollCreate      = "poll-create"      // PollCreateBody (presenter/host)
	TypePollVote        = "poll-vote"        // PollVoteBody
	TypePollClose       = "poll-close"       // PollRefBody (presenter/host)

	// Both directions: a request from a presenter/host, an event to all.
	TypeRoomMode = "room-mode" // ModeBody

	// Server to client.
	TypeAck          = "ack"           // AckBody, id of the request
	TypeHands        = "hands"         // HandsBody: queue deltas, to presenters and hosts only
	TypeHandPosition = "hand-position" // HandPositionBody: to one attendee
	TypeHandCount    = "hand-count"    // HandPositionBody with Position 0: coalesced, to attendees
	TypeStage        = "stage"         // StageBody, to all
	TypeChat         = "chat"          // ChatMessage, to all
	TypeQuestion     = "question"      // Question, to all
	TypePoll         = "poll"          // Poll, to all (counts: presenters while open, all once closed)
	TypeQAState      = "qa-state"      // QAOpenBody, to all
)

// Room modes.
const (
	ModeMeeting = "meeting" // everyone may publish
	ModeWebinar = "webinar" // attendees publish only while on stage
)

// More error codes for room requests.
const (
	ErrNotFound = "not_found" // no such participant, question or poll
	ErrClosed   = "closed"    // Q&A or the poll is closed
	ErrConflict = "conflict"  // already voted / upvoted
)

// HandBody is a hand request. ClickTimeMs is when the user clicked, on the
// client's clock (ms since the Unix epoch); the server converts it with the
// client's clock offset and bounds it (see room.Config.MaxLatencyMs).
// Target names the participant whose hand is dismissed (hand-dismiss).
type HandBody struct {
	ClickTimeMs int64  `json:"clickTimeMs"`
	Target      string `json:"target,omitempty"`
}

// HandEntry is one hand as presenters see it. TimeMs is the hand's place in
// the queue (server clock, ms since epoch); the queue is ordered by
// (TimeMs, ID). Raised false means it left the queue, for Reason
// ("lowered", "dismissed", "lower-all", "left", "stage").
type HandEntry struct {
	ID     string `json:"id"`
	Name   string `json:"name,omitempty"`
	TimeMs int64  `json:"timeMs"`
	Raised bool   `json:"raised"`
	Reason string `json:"reason,omitempty"`
	By     string `json:"by,omitempty"`
}

// HandsBody is a batch of queue changes; Count is the queue length after them.
type HandsBody struct {
	Hands []HandEntry `json:"hands"`
	Count int         `json:"count"`
}

// HandPositionBody tells an attendee their own place (1-based; 0: no hand
// raised) and the number of raised hands.
type HandPositionBody struct {
	Position int `json:"position"`
	Count    int `json:"count"`
}

// StageSetBody asks to bring Target on stage (On) or take them off. In a
// webinar being on stage grants publish rights; in both modes the latest
// participant brought on stage is the spotlight (shown large).
type StageSetBody struct {
	Target string `json:"target"`
	On     bool   `json:"on"`
}

// StageBody is the whole stage: who is on it and who is in the spotlight.
type StageBody struct {
	Stage     []string `json:"stage"`
	Spotlight string   `json:"spotlight,omitempty"`
}

// ModeBody sets or announces the room mode (ModeMeeting, ModeWebinar).
type ModeBody struct {
	Mode string `json:"mode"`
}

// ChatSendBody sends a chat message. ClientMsgID (unique per sender) makes
// retries idempotent: a resend is acknowledged with the original message.
type ChatSendBody struct {
	ClientMsgID string `json:"clientMsgId"`
	Text        string `json:"text"`
}

// ChatMessage is one message in the room's chat. Seq orders the chat (1, 2,
// ...); TimeMs is the server's receive time (ms since epoch).
type ChatMessage struct {
	Seq         uint64 `json:"seq"`
	From        string `json:"from"`
	Name        string `json:"name,omitempty"`
	Text        string `json:"text"`
	TimeMs      int64  `json:"timeMs"`
	ClientMsgID string `json:"clientMsgId,omitempty"`
}

// QuestionAskBody asks a question in Q&A.
type QuestionAskBody struct {
	ClientMsgID string `json:"clientMsgId,omitempty"`
	Text        string `json:"text"`
}

// QuestionRefBody names a question.
type QuestionRefBody struct {
	QuestionID int `json:"questionId"`
}

// Question is one Q&A entry. Votes counts distinct upvoters.
type Question struct {
	ID        int    `json:"id"`
	From      string `json:"from"`
	Name      string `json:"name,omitempty"`
	Text      string `json:"text"`
	TimeMs    int64  `json:"timeMs"`
	Votes     int    `json:"votes"`
	Answered  bool   `json:"answered,omitempty"`
	Dismissed bool   `json:"dismissed,omitempty"`
}

// QAOpenBody opens or closes Q&A (closed: no new questions or upvotes).
type QAOpenBody struct {
	Open bool `json:"open"`
}

// PollCreateBody creates a poll with 2 to 10 options.
type PollCreateBody struct {
	Question string   `json:"question"`
	Options  []string `json:"options"`
}

// PollVoteBody votes for Option (0-based) in PollID; one vote per participant.
type PollVoteBody struct {
	PollID int `json:"pollId"`
	Option int `json:"option"`
}

// PollRefBody names a poll.
type PollRefBody struct {
	PollID int `json:"pollId"`
}

// Poll is a poll. Counts (votes per option) are sent to presenters and hosts
// while it is open and to everyone once it is closed.
type Poll struct {
	ID       int      `json:"id"`
	Question string   `json:"question"`
	Options  []string `json:"options"`
	Open     bool     `json:"open"`
	Counts   []int    `json:"counts,omitempty"`
	Voters   int      `json:"voters"`
}

// AckBody acknowledges an accepted request (Envelope.ID is the request's).
// Type is the request type; Seq the room version after it. Applied is false
// when the request changed nothing (a stale hand update that lost
// last-writer-wins, a retried chat message). The other fields are filled
// in as they apply: the hand's server time (TimeMs, ms since epoch),
// position and count; the chat message; the question or poll id.
type AckBody struct {
	Type       string       `json:"type"`
	Seq        uint64       `json:"seq"`
	Applied    bool         `json:"applied"`
	TimeMs     int64        `json:"timeMs,omitempty"`
	Position   int          `json:"position,omitempty"`
	Count      int          `json:"count,omitempty"`
	Chat       *ChatMessage `json:"chat,omitempty"`
	QuestionID int          `json:"questionId,omitempty"`
	PollID     int          `json:"pollId,omitempty"`
}

// RoomSnapshot is the room state a participant gets on join, at room
// version Seq: later events have a higher seq. Queue (ordered) is sent to
// presenters and hosts only; attendees get Position and Count.
type RoomSnapshot struct {
	Seq       uint64        `json:"seq"`
	Mode      string        `json:"mode"`
	Stage     StageBody     `json:"stage"`
	Queue     []HandEntry   `json:"queue,omitempty"`
	Position  int           `json:"position"`
	Count     int           `json:"count"`
	Chat      []ChatMessage `json:"chat,omitempty"`
	QAOpen    bool          `json:"qaOpen"`
	Questions []Question    `json:"questions,omitempty"`
	Polls     []Poll        `json:"polls,omitempty"`
	// PublishAllowed says whether this participant may publish now.
	PublishAllowed bool `json:"publishAllowed"`
}

func init() {
	for _, t := range []string{TypeHandRaise, TypeHandLower, TypeHandDismiss, TypeHandsLowerAll, TypeStageSet,
		TypeChatSend, TypeQuestionAsk, TypeQuestionUpvote, TypeQuestionAnswer, TypeQuestionDismiss, TypeQAOpen,
		TypePollCreate, TypePollVote, TypePollClose, TypeRoomMode, TypeAck, TypeHands, TypeHandPosition,
		TypeHandCount, TypeStage, TypeChat, TypeQuestion, TypePoll, TypeQAState} {
		knownTypes[t] = true
	}
}
