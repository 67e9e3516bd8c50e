package ui

import "testing"

func TestInviteRoundTrip(t *testing.T) {
	in := Invite{Server: "ws://127.0.0.1:7880/ws", Room: "demo", Token: "aaa.bbb.ccc"}
	got, err := ParseInvite("  " + in.Link() + "\n")
	if err != nil || got != in {
		t.Fatalf("round trip: %+v, %v", got, err)
	}
	if got, err := ParseInvite("aaa.bbb.ccc"); err != nil || got.Token != "aaa.bbb.ccc" {
		t.Fatalf("bare token: %+v %v", got, err)
	}
	if _, err := ParseInvite("hello world"); err == nil {
		t.Fatal("accepted garbage")
	}
}
