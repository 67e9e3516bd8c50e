package server

import (
	"sort"
	"time"

	"github.com/podiumhq/podium/signaling/room"
)

// RoomStore keeps rooms' state across restarts (signaling/roomlog keeps it
// in files). The server loads a room when it creates it (the first join
// after a start), appends every action the room accepts, and drops the
// room when it ends (nobody in it and nobody within the reconnect grace).
type RoomStore interface {
	// Load returns the room's saved state with cfg as its limits (ok
	// false: nothing saved). It is called with the server's lock held.
	Load(roomName string, cfg room.Config) (st room.State, ok bool)
	// Append records an accepted action. It is called with the room's
	// lock held and must not block.
	Append(roomName string, a room.Action)
	// Drop forgets an ended room.
	Drop(roomName string)
}

// newRoom makes the room roomName on its first join (caller holds s.mu):
// empty, or as the RoomStore saved it. Everyone a restored room held is
// treated as a dropped connection from now: members, hands and stage stay
// for the grace period (the downtime does not count against it), so
// participants who reconnect in time come back to their place.
func (s *Server) newRoom(roomName string) *roomState {
	rm := &roomState{name: roomName, members: map[string]*conn{}, presenters: map[string]*conn{}, st: room.New(s.cfg.Room)}
	if s.cfg.RoomStore == nil {
		return rm
	}
	st, ok := s.cfg.RoomStore.Load(roomName, s.cfg.Room)
	if !ok {
		return rm
	}
	rm.st = st
	ids := make([]string, 0, len(st.Members))
	for id := range st.Members {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	now := time.Now().UnixMilli()
	rm.mu.Lock()
	defer rm.mu.Unlock()
	for _, id := range ids {
		a := room.Action{Kind: room.KindLeave, AtMs: now, By: id}
		if st, _, err := room.Apply(rm.st, a); err == nil {
			rm.st = st
			s.logAction(rm, a)
		}
	}
	s.scheduleExpiry(rm)
	s.log.Info("room restored", "room", roomName, "seq", rm.st.Seq, "members", len(ids), "hands", len(rm.st.Queue),
		"chat", len(rm.st.Chat), "questions", len(rm.st.Questions), "polls", len(rm.st.Polls))
	return rm
}
