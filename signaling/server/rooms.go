package server

import (
	"time"

	"github.com/podiumhq/podium/signaling/protocol"
	"github.com/podiumhq/podium/signaling/room"
)

// roomAction turns a room request into an action (ok false: not a room
// request). It runs on c's read loop, which owns c.clock.
func roomAction(c *conn, env protocol.Envelope) (room.Action, bool, error) {
	a := room.Action{Kind: env.Type, AtMs: time.Now().UnixMilli(), By: c.self.ID}
	var err error
	switch env.Type {
	case protocol.TypeHandRaise, protocol.TypeHandLower, protocol.TypeHandDismiss, protocol.TypeHandsLowerAll:
		var b protocol.HandBody
		if len(env.Body) > 0 {
			err = protocol.DecodeBody(env, &b)
		}
		a.ClickMs, a.Target = b.ClickTimeMs, b.Target
		if b.ClickTimeMs == 0 {
			a.ClickMs = a.AtMs // no click time: the arrival
		} else {
			a.OffsetMs, _ = c.clock.OffsetMs()
		}
	case protocol.TypeStageSet:
		var b protocol.StageSetBody
		err = protocol.DecodeBody(env, &b)
		a.Target, a.On, a.ClickMs = b.Target, b.On, a.AtMs
	case protocol.TypeRoomMode:
		var b protocol.ModeBody
		err = protocol.DecodeBody(env, &b)
		a.Mode = b.Mode
	case protocol.TypeChatSend:
		var b protocol.ChatSendBody
		err = protocol.DecodeBody(env, &b)
		a.ClientMsgID, a.Text = b.ClientMsgID, b.Text
	case protocol.TypeQuestionAsk:
		var b protocol.QuestionAskBody
		err = protocol.DecodeBody(env, &b)
		a.ClientMsgID, a.Text = b.ClientMsgID, b.Text
	case protocol.TypeQuestionUpvote, protocol.TypeQuestionAnswer, protocol.TypeQuestionDismiss:
		var b protocol.QuestionRefBody
		err = protocol.DecodeBody(env, &b)
		a.QuestionID = b.QuestionID
	case protocol.TypeQAOpen:
		var b protocol.QAOpenBody
		err = protocol.DecodeBody(env, &b)
		a.On = b.Open
	case protocol.TypePollCreate:
		var b protocol.PollCreateBody
		err = protocol.DecodeBody(env, &b)
		a.Text, a.Options = b.Question, b.Options
	case protocol.TypePollVote:
		var b protocol.PollVoteBody
		err = protocol.DecodeBody(env, &b)
		a.PollID, a.Option = b.PollID, b.Option
	case protocol.TypePollClose:
		var b protocol.PollRefBody
		err = protocol.DecodeBody(env, &b)
		a.PollID = b.PollID
	default:
		return a, false, nil
	}
	return a, true, err
}

// apply runs a on c's room and sends the events; the ack carries reqID.
func (s *Server) apply(c *conn, reqID string, a room.Action) error {
	s.mu.Lock()
	rm := c.room
	s.mu.Unlock()
	if rm == nil {
		return protocol.Errorf(protocol.ErrNotJoined, "not in a room")
	}
	rm.mu.Lock()
	if rm.members[c.self.ID] != c {
		rm.mu.Unlock()
		return protocol.Errorf(protocol.ErrNotJoined, "not in a room")
	}
	st, ev, err := room.Apply(rm.st, a)
	if err != nil {
		rm.mu.Unlock()
		return err
	}
	rm.st = st
	s.logAction(rm, a)
	pubs := s.route(rm, c, reqID, ev)
	rm.mu.Unlock()
	for _, p := range pubs {
		s.setPublish(p.c, p.allowed)
	}
	return nil
}

func (s *Server) logAction(rm *roomState, a room.Action) {
	if s.cfg.ActionLog != nil {
		s.cfg.ActionLog(rm.name, a)
	}
	if st := s.cfg.RoomStore; st != nil {
		if len(rm.st.Members) == 0 {
			// Nobody in the room and nobody within the grace: the room
			// ends (maybeDropRoom forgets it), and so does its log.
			st.Drop(rm.name)
		} else {
			st.Append(rm.name, a)
		}
	}
}

type publishChange struct {
	c       *conn
	allowed bool
}

// route sends events to their audiences (caller holds rm.mu, which keeps
// every connection's messages in room order). The ack goes to from with
// reqID. Publish changes are returned for the caller to apply once the
// lock is released (media calls may block).
func (s *Server) route(rm *roomState, from *conn, reqID string, ev []room.Event) []publishChange {
	var pubs []publishChange
	seq := rm.st.Seq
	for _, e := range ev {
		switch e.To {
		case room.ToNone:
			switch e.Type {
			case room.EventQueueMoved:
				s.markDirty(rm)
			case room.EventPublish:
				if m := rm.members[e.ID]; m != nil {
					pubs = append(pubs, publishChange{m, e.Body.(bool)})
				}
			}
			continue
		case room.ToOne:
			m := rm.members[e.ID]
			if m == nil {
				continue
			}
			id := ""
			if e.Type == protocol.TypeAck && m == from {
				id = reqID
				if ack := e.Body.(protocol.AckBody); isHandType(ack.Type) && m.self.ID == from.self.ID {
					m.lastPos, m.lastCount = ack.Position, ack.Count
				}
			}
			if e.Type == protocol.TypeHandPosition {
				b := e.Body.(protocol.HandPositionBody)
				m.lastPos, m.lastCount = b.Position, b.Count
			}
			m.sendMsg(e.Type, id, seq, e.Body)
			continue
		}
		msg, err := protocol.Encode(e.Type, "", seq, e.Body)
		if err != nil {
			s.log.Error("encode", "type", e.Type, "err", err)
			continue
		}
		targets := rm.members
		if e.To == room.ToPresenters {
			targets = rm.presenters
		}
		for _, m := range targets {
			m.enqueue(msg)
		}
	}
	return pubs
}

func isHandType(t string) bool {
	switch t {
	case protocol.TypeHandRaise, protocol.TypeHandLower, protocol.TypeHandDismiss, protocol.TypeHandsLowerAll:
		return true
	}
	return false
}

// markDirty schedules a flush of attendees' positions (caller holds rm.mu).
func (s *Server) markDirty(rm *roomState) {
	rm.dirty = true
	if rm.flushing {
		return
	}
	rm.flushing = true
	time.AfterFunc(s.cfg.FlushInterval, func() { s.flush(rm) })
}

// flush sends each attendee whose queue position changed since they were
// last told their new position and the count; the count alone goes to
// every other attendee at most once per CountInterval. Presenters have the
// whole queue already. This bounds the cost of a raise to the presenters'
// deltas plus the raiser's ack, with the attendees' updates coalesced.
func (s *Server) flush(rm *roomState) {
	rm.mu.Lock()
	defer rm.mu.Unlock()
	rm.flushing = false
	if !rm.dirty {
		return
	}
	rm.dirty = false
	count := len(rm.st.Queue)
	now := time.Now()
	sendCount := count != rm.countSent && now.Sub(rm.lastCount) >= s.cfg.CountInterval
	var countMsg []byte
	if sendCount {
		rm.lastCount, rm.countSent = now, count
		countMsg, _ = protocol.Encode(protocol.TypeHandCount, "", rm.st.Seq, protocol.HandPositionBody{Count: count})
	}
	for id, m := range rm.members {
		if presenterRole(m.self.Role) {
			continue
		}
		pos := rm.st.Position(id)
		switch {
		case pos != m.lastPos:
			m.lastPos, m.lastCount = pos, count
			m.sendMsg(protocol.TypeHandPosition, "", rm.st.Seq, protocol.HandPositionBody{Position: pos, Count: count})
		case sendCount && count != m.lastCount:
			m.lastCount = count
			m.enqueue(countMsg)
		}
	}
	if count != rm.countSent {
		// The count still differs for some attendees: try again later.
		rm.dirty = true
		rm.flushing = true
		time.AfterFunc(s.cfg.CountInterval, func() { s.flush(rm) })
	}
}

// scheduleExpiry arms the room's timer for the next grace period's end
// (caller holds rm.mu).
func (s *Server) scheduleExpiry(rm *roomState) {
	next := rm.st.NextExpiryMs()
	if next == 0 {
		return
	}
	d := time.Until(time.UnixMilli(next)) + 10*time.Millisecond
	if rm.expiryTimer != nil {
		rm.expiryTimer.Stop()
	}
	rm.expiryTimer = time.AfterFunc(d, func() { s.expire(rm) })
}

func (s *Server) expire(rm *roomState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rm.mu.Lock()
	defer rm.mu.Unlock()
	a := room.Action{Kind: room.KindExpire, AtMs: time.Now().UnixMilli()}
	st, ev, err := room.Apply(rm.st, a)
	if err != nil {
		return
	}
	rm.st = st
	s.logAction(rm, a)
	s.route(rm, nil, "", ev)
	s.scheduleExpiry(rm)
	s.maybeDropRoom(rm)
}

// publishAllowed reports whether c may publish in its room now.
func (s *Server) publishAllowed(c *conn) bool {
	s.mu.Lock()
	rm := c.room
	s.mu.Unlock()
	if rm == nil {
		return false
	}
	rm.mu.Lock()
	defer rm.mu.Unlock()
	return rm.st.PublishAllowed(c.self.ID)
}

// setPublish grants or revokes c's publish rights in the media session:
// granting adds the receive slots c asked for at join and did not get.
func (s *Server) setPublish(c *conn, allowed bool) {
	ms := c.getMedia()
	if ms == nil {
		return
	}
	if pc, ok := ms.(PublishController); ok {
		pc.SetPublishAllowed(allowed)
	}
	if !allowed {
		return
	}
	s.mu.Lock()
	dv, da := max(c.wantVideo-c.gotVideo, 0), max(c.wantAudio-c.gotAudio, 0)
	c.gotVideo += dv
	c.gotAudio += da
	s.mu.Unlock()
	if dv+da > 0 {
		if err := ms.AddPublishSlots(dv, da); err != nil {
			c.log.Warn("publish slots for the stage", "err", err)
		}
	}
	c.log.Info("publish rights", "allowed", allowed)
}
