package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/podiumhq/podium/signaling/protocol"
	"github.com/podiumhq/podium/ui/roomstore"
)

// TestReplayCommandReproducesHandQueue saves a session's action log and
// checks that `podium replay` prints the state the live store ended in.
func TestReplayCommandReproducesHandQueue(t *testing.T) {
	st := roomstore.NewStore()
	st.Dispatch(roomstore.Joined{SelfID: "me", SelfName: "Me", Role: protocol.RoleHost, OffsetMs: 250, Room: roomstore.Snapshot{Seq: 3, Mode: protocol.ModeWebinar,
		Queue: []protocol.HandEntry{{ID: "a", Name: "Ada", TimeMs: 100, Raised: true}, {ID: "b", Name: "Bo", TimeMs: 90, Raised: true}}}})
	st.Dispatch(roomstore.Requested{Op: roomstore.Op{Req: "r1", Kind: roomstore.KindRaise, ClickMs: 1000}})
	st.Dispatch(roomstore.Delta{Seq: 4, Mode: protocol.ModeWebinar, Raised: []protocol.HandEntry{{ID: "c", Name: "Cy", TimeMs: 95}}, Count: 3,
		Chat: []protocol.ChatMessage{{Seq: 1, From: "a", Name: "Ada", Text: "hi"}}})
	st.Dispatch(roomstore.Acked{Req: "r1", Ack: protocol.AckBody{Applied: true, TimeMs: 1240, Position: 4, Count: 4}})
	st.Dispatch(roomstore.Requested{Op: roomstore.Op{Req: "r2", Kind: roomstore.KindDismiss, Target: "b"}})
	st.Dispatch(roomstore.Refused{Req: "r2", Code: protocol.ErrForbidden, Message: "no"})
	st.Dispatch(roomstore.Requested{Op: roomstore.Op{Req: "r3", Kind: roomstore.KindDismiss, Target: "a"}}) // still in flight
	p := filepath.Join(t.TempDir(), "room.log")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SaveLog(f); err != nil {
		t.Fatal(err)
	}
	f.Close()
	var out, errb bytes.Buffer
	if rc := replayMain([]string{p}, &out, &errb); rc != 0 {
		t.Fatalf("replay exit %d: %s", rc, errb.String())
	}
	var got struct {
		Actions int `json:"actions"`
		roomstore.Summary
	}
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("%v: %s", err, out.String())
	}
	want, _ := json.Marshal(roomstore.Summarize(st.State()))
	have, _ := json.Marshal(got.Summary)
	if got.Actions != 7 || !bytes.Equal(want, have) {
		t.Fatalf("replay printed\n%s\nwant\n%s (actions %d)", have, want, got.Actions)
	}
	ids := []string{}
	for _, r := range got.Queue {
		ids = append(ids, r.ID)
	}
	if len(ids) != 3 || ids[0] != "b" || ids[1] != "c" || ids[2] != "me" {
		t.Fatalf("replayed queue %v, want [b c me] (a is being dismissed)", ids)
	}
}
