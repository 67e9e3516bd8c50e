package session

import "github.com/podiumhq/podium/media/participant"

// Room is the call's participant, for the room requests (hands, stage,
// chat, Q&A, polls) and its RoomState.
func (s *Session) Room() *participant.Participant { return s.p }
