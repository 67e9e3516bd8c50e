package protocol

import (
	"encoding/json"
	"strings"
	"testing"
)

// FuzzDecode: Decode never panics, never accepts more than MaxMessageBytes,
// returns only *Error values with a known code, and an accepted message
// re-encodes to one it accepts again with the same type, id and seq.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{"type":"hand-raise","id":"1","body":{"clickTimeMs":1700000000000}}`,
		`{"type":"hand-dismiss","id":"2","body":{"target":"a","clickTimeMs":-1}}`,
		`{"type":"chat-send","body":{"clientMsgId":"x","text":"héllo"}}`,
		`{"type":"join","body":{"token":"a.b.c","signalingOnly":true}}`,
		`{"type":"ping","body":{"clientTimeMs":1,"last":{"clientSentMs":1,"serverTimeMs":2,"clientRecvMs":3}}}`,
		`{"type":"teleport"}`, `{"type":""}`, `{}`, `[]`, `null`, `{"type":"ack"} {"type":"ack"}`, `{"type":"hands","seq":18446744073709551615}`,
		`{"type":"poll-create","body":{"question":"q","options":["a","b"]}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		env, err := Decode(data)
		if err != nil {
			pe, ok := err.(*Error)
			if !ok {
				t.Fatalf("error %T is not *Error", err)
			}
			switch pe.Code {
			case ErrBadMessage, ErrUnknownType, ErrTooLarge:
			default:
				t.Fatalf("unexpected code %q", pe.Code)
			}
			return
		}
		if len(data) > MaxMessageBytes || !knownTypes[env.Type] {
			t.Fatalf("accepted %d bytes of type %q", len(data), env.Type)
		}
		var body any
		if len(env.Body) > 0 {
			if err := json.Unmarshal(env.Body, &body); err != nil {
				t.Fatalf("accepted body is not JSON: %v", err)
			}
		}
		b, err := Encode(env.Type, env.ID, env.Seq, body)
		if err != nil {
			if strings.Contains(err.Error(), "unsupported") {
				return
			}
			t.Fatalf("re-encode: %v", err)
		}
		if len(b) > MaxMessageBytes {
			return // escaping can grow a message past the limit
		}
		back, err := Decode(b)
		if err != nil || back.Type != env.Type || back.ID != env.ID || back.Seq != env.Seq {
			t.Fatalf("round trip: %+v, %v", back, err)
		}
		// Typed bodies never panic.
		var hb HandBody
		_ = DecodeBody(env, &hb)
		var rs RoomSnapshot
		_ = DecodeBody(env, &rs)
	})
}
