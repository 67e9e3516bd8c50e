// Package protocol defines Podium's signaling messages: JSON envelopes carried
// over a WebSocket, one message per text frame.
//
// Every message is an Envelope {type, id, seq, body}. A client request may
// carry an id that the server echoes in its reply or error; room events carry
// the room's sequence number (seq), which increases by one per event so that a
// client can detect a gap.
package protocol

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// MaxMessageBytes is the largest message the protocol accepts (64 KiB). An SDP
// offer for a room with dozens of tracks stays well below it.
const MaxMessageBytes = 64 << 10

// Message types.
const (
	// Client to server.
	TypeJoin      = "join"      // JoinBody
	TypeLeave     = "leave"     // no body
	TypeAnswer    = "answer"    // SDPBody: the client's answer to a server offer
	TypeOffer     = "offer"     // SDPBody: server to client (the server is the only offerer)
	TypeCandidate = "candidate" // CandidateBody, both directions (trickle ICE)
	TypePing      = "ping"      // PingBody
	TypePong      = "pong"      // PongBody
	TypePublish   = "publish"   // PublishBody: ask for receive slots for more tracks
	// TypeICERestart (no body) asks the server for an offer with new ICE
	// credentials (RFC 8445 section 9): the client's network changed or its
	// ICE connection failed while signaling stayed up.
	TypeICERestart = "ice-restart"

	// Server to client.
	TypeJoined            = "joined"             // JoinedBody
	TypeParticipantJoined = "participant-joined" // Participant
	TypeParticipantLeft   = "participant-left"   // ParticipantLeftBody
	TypeError             = "error"              // ErrorBody
)

// Envelope is the outer shape of every message.
type Envelope struct {
	Type string          `json:"type"`
	ID   string          `json:"id,omitempty"`
	Seq  uint64          `json:"seq,omitempty"`
	Body json.RawMessage `json:"body,omitempty"`
}

// Role is a participant's role, granted by the access token.
type Role string

// Roles, from least to most privileged.
const (
	RoleAttendee  Role = "attendee"
	RolePresenter Role = "presenter"
	RoleHost      Role = "host"
)

// Valid reports whether r is one of the defined roles.
func (r Role) Valid() bool { return r == RoleAttendee || r == RolePresenter || r == RoleHost }

// JoinBody asks to join a room. Token is a signed access token; with a server
// in development mode, Room and Name may be given instead (loopback only).
type JoinBody struct {
	Token string `json:"token,omitempty"`
	Room  string `json:"room,omitempty"`
	Name  string `json:"name,omitempty"`
	// Publish is how many video and audio tracks the client will send at once
	// (default one of each).
	Publish *PublishBody `json:"publish,omitempty"`
	// SignalingOnly joins without a media session (no PeerConnection): chat,
	// hands, Q&A and polls only. Load generators and text-only clients use it.
	SignalingOnly bool `json:"signalingOnly,omitempty"`
	// ClientTimeMs is the client's clock at send time (ms since the Unix
	// epoch): the server's first clock-offset sample.
	ClientTimeMs int64 `json:"clientTimeMs,omitempty"`
	// Resume is the resume token from an earlier joined answer: a client
	// reconnecting after a dropped connection rejoins as the same
	// participant (same identity, hand and stage place) with it, even once
	// its access token has expired. It wins over Token when valid.
	Resume string `json:"resume,omitempty"`
}

// PublishBody counts tracks a client wants to send.
type PublishBody struct {
	Video int `json:"video"`
	Audio int `json:"audio"`
}

// Participant describes one member of a room.
type Participant struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Role Role   `json:"role"`
}

// JoinedBody answers a successful join with a snapshot of the room.
type JoinedBody struct {
	Self         Participant   `json:"self"`
	Room         string        `json:"room"`
	Participants []Participant `json:"participants"`
	// ServerTimeMs is the server's clock at send time, in ms since the Unix epoch.
	ServerTimeMs int64 `json:"serverTimeMs"`
	// State is the room state (hands, stage, chat history, Q&A, polls).
	State *RoomSnapshot `json:"state,omitempty"`
	// ICEServers are the ICE servers to use (the server's TURN relay with
	// credentials for this participant); none: direct connections only.
	ICEServers []ICEServer `json:"iceServers,omitempty"`
	// Resume is a token to rejoin as this participant after a dropped
	// connection (JoinBody.Resume). It stops working once the participant
	// leaves explicitly, and after ResumeTTL.
	Resume string `json:"resume,omitempty"`
}

// ParticipantLeftBody announces a departure.
type ParticipantLeftBody struct {
	ID string `json:"id"`
}

// SDPBody carries a session description (RFC 8866) of type offer or answer.
type SDPBody struct {
	SDP string `json:"sdp"`
}

// CandidateBody carries one trickled ICE candidate (RFC 8838).
type CandidateBody struct {
	Candidate     string  `json:"candidate"`
	SDPMid        *string `json:"sdpMid,omitempty"`
	SDPMLineIndex *uint16 `json:"sdpMLineIndex,omitempty"`
}

// PingBody carries the client's clock (ms since the Unix epoch) for an
// NTP-style offset estimate.
type PingBody struct {
	ClientTimeMs int64 `json:"clientTimeMs"`
	// Last reports the client's previous completed ping, from which the
	// server estimates the client's clock offset (room.Clock).
	Last *PingExchange `json:"last,omitempty"`
}

// PingExchange is one completed ping as the client saw it: sent at
// ClientSentMs, answered with ServerTimeMs, pong received at ClientRecvMs
// (client clock for the client times; all ms since the Unix epoch).
type PingExchange struct {
	ClientSentMs int64 `json:"clientSentMs"`
	ServerTimeMs int64 `json:"serverTimeMs"`
	ClientRecvMs int64 `json:"clientRecvMs"`
}

// PongBody echoes the client's clock and adds the server's (ms since epoch).
type PongBody struct {
	ClientTimeMs int64 `json:"clientTimeMs"`
	ServerTimeMs int64 `json:"serverTimeMs"`
}

// Error codes sent in ErrorBody.Code.
const (
	ErrBadMessage    = "bad_message"   // not JSON, or fields of the wrong type
	ErrUnknownType   = "unknown_type"  // a type this server does not know
	ErrTooLarge      = "too_large"     // over MaxMessageBytes
	ErrBadSDP        = "bad_sdp"       // an SDP that cannot be applied
	ErrUnauthorized  = "unauthorized"  // missing, malformed or badly signed token
	ErrTokenExpired  = "token_expired" // token past its expiry
	ErrNotJoined     = "not_joined"    // a room message before join
	ErrAlreadyJoined = "already_joined"
	ErrReplaced      = "replaced"  // the same identity joined from another connection
	ErrForbidden     = "forbidden" // the role does not allow the action
	ErrRoomFull      = "room_full"
	ErrInternal      = "internal"
)

// ErrorBody reports why a request was refused.
type ErrorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Error is a protocol-level error with a code from the Err* constants.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Errorf builds an *Error.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

var knownTypes = map[string]bool{
	TypeJoin: true, TypeLeave: true, TypeAnswer: true, TypeOffer: true, TypeCandidate: true,
	TypePing: true, TypePong: true, TypePublish: true, TypeJoined: true,
	TypeParticipantJoined: true, TypeParticipantLeft: true, TypeError: true,
}

// Decode parses one message. It returns an *Error with code ErrTooLarge,
// ErrBadMessage or ErrUnknownType when the message cannot be accepted; the
// envelope's ID is filled in when it could be read so that the error can
// reference the request.
func Decode(data []byte) (Envelope, error) {
	var env Envelope
	if len(data) > MaxMessageBytes {
		return env, Errorf(ErrTooLarge, "message of %d bytes exceeds the limit of %d bytes", len(data), MaxMessageBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&env); err != nil {
		return Envelope{}, Errorf(ErrBadMessage, "malformed JSON: %v", err)
	}
	if dec.More() {
		return env, Errorf(ErrBadMessage, "trailing data after the message")
	}
	if env.Type == "" {
		return env, Errorf(ErrBadMessage, "message has no type")
	}
	if !knownTypes[env.Type] {
		return env, Errorf(ErrUnknownType, "unknown message type %q", env.Type)
	}
	return env, nil
}

// DecodeBody unmarshals env.Body into v, returning an ErrBadMessage *Error.
func DecodeBody(env Envelope, v any) error {
	if len(env.Body) == 0 {
		return Errorf(ErrBadMessage, "%s: missing body", env.Type)
	}
	if err := json.Unmarshal(env.Body, v); err != nil {
		return Errorf(ErrBadMessage, "%s: bad body: %v", env.Type, err)
	}
	return nil
}

// Encode builds a message of type typ with the given body (nil for none).
func Encode(typ, id string, seq uint64, body any) ([]byte, error) {
	env := Envelope{Type: typ, ID: id, Seq: seq}
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		env.Body = b
	}
	return json.Marshal(env)
}

// AsError extracts a protocol *Error from err, or wraps err as ErrInternal.
func AsError(err error) *Error {
	var pe *Error
	if errors.As(err, &pe) {
		return pe
	}
	return &Error{Code: ErrInternal, Message: err.Error()}
}
