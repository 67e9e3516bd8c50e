package server

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"sync"
	"time"

	"github.com/podiumhq/podium/signaling/protocol"
	"github.com/podiumhq/podium/signaling/token"
)

// ResumeTTL is how long a resume token stays valid after it was issued
// (every join answer carries a fresh one). It covers a long event; a
// participant who leaves explicitly cannot resume with an older token.
const ResumeTTL = 12 * time.Hour

// resumer issues and checks resume tokens: JWTs (HS256) signed with a key
// derived from the access-token secret (HMAC-SHA256(secret, "podium
// resume token")), so a resume token is never accepted as an access token
// nor the reverse, and tokens survive a server restart when the secret
// does. A server without a secret (development) uses a random key.
type resumer struct {
	is token.Issuer

	mu   sync.Mutex
	left map[string]time.Time // room + "\x00" + identity -> explicit leave
}

func newResumer(access token.Issuer) *resumer {
	var key []byte
	if len(access.Secret) > 0 {
		m := hmac.New(sha256.New, access.Secret)
		m.Write([]byte("podium resume token"))
		key = m.Sum(nil)
	} else {
		key = make([]byte, 32)
		_, _ = rand.Read(key)
	}
	return &resumer{is: token.Issuer{Secret: key}, left: map[string]time.Time{}}
}

// issue returns a resume token for self in roomName ("" on failure: the
// client then reconnects with its access token).
func (r *resumer) issue(roomName string, self protocol.Participant) string {
	t, err := r.is.Issue(roomName, self.ID, self.Name, self.Role, ResumeTTL)
	if err != nil {
		return ""
	}
	return t
}

// errResumeEnded is returned for a token of a participant who has left.
var errResumeEnded = errors.New("the participant left; join again")

// verify returns the participant a resume token stands for.
func (r *resumer) verify(tok string) (roomName string, self protocol.Participant, err error) {
	c, err := r.is.Verify(tok)
	if err != nil {
		return "", self, err
	}
	r.mu.Lock()
	at, ok := r.left[c.Room+"\x00"+c.Subject]
	r.mu.Unlock()
	// IssuedAt has one-second resolution: a token issued in the second of
	// the leave is refused too.
	if ok && c.IssuedAt != nil && !c.IssuedAt.Time.After(at) {
		return "", self, errResumeEnded
	}
	return c.Room, protocol.Participant{ID: c.Subject, Name: c.Name, Role: c.Role}, nil
}

// ended records an explicit leave: older resume tokens stop working.
func (r *resumer) ended(roomName, identity string) {
	now := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.left[roomName+"\x00"+identity] = now
	if len(r.left) > 4096 {
		for k, t := range r.left {
			if now.Sub(t) > ResumeTTL {
				delete(r.left, k)
			}
		}
	}
}
