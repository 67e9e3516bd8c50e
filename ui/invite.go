package ui

import (
	"errors"
	"net/url"
	"strings"
)

// Invite is what an invite link carries.
type Invite struct{ Server, Room, Token string }

// Link formats an invite as podium://join?server=…&room=…&token=….
func (i Invite) Link() string {
	q := url.Values{}
	q.Set("server", i.Server)
	if i.Room != "" {
		q.Set("room", i.Room)
	}
	q.Set("token", i.Token)
	return "podium://join?" + q.Encode()
}

// ParseInvite reads a pasted invite: a podium:// or http(s) link with
// server/room/token parameters, or a bare access token (a JWT).
func ParseInvite(s string) (Invite, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Invite{}, errors.New("empty invite")
	}
	if strings.Count(s, ".") == 2 && !strings.Contains(s, "/") && !strings.Contains(s, " ") {
		return Invite{Token: s}, nil
	}
	u, err := url.Parse(s)
	if err != nil || u.Query().Get("token") == "" {
		return Invite{}, errors.New("not an invite link or token: paste the whole podium://join?… link")
	}
	q := u.Query()
	return Invite{Server: q.Get("server"), Room: q.Get("room"), Token: q.Get("token")}, nil
}
