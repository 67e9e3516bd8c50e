package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/podiumhq/podium/ui/roomstore"
)

// replayMain is `podium replay [--summary] FILE`: it folds a room action
// log saved with --action-log into the state it produced and prints it as
// JSON (queue in order, own hand, chat, questions, polls, requests still
// in flight).
func replayMain(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("podium replay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	brief := fs.Bool("summary", false, "print counts only")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: podium replay [--summary] FILE")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return 2
	}
	f, err := os.Open(fs.Arg(0))
	if err != nil {
		fmt.Fprintln(stderr, "podium replay:", err)
		return 1
	}
	defer f.Close()
	s, n, err := roomstore.Replay(f)
	if err != nil {
		fmt.Fprintln(stderr, "podium replay:", err)
		return 1
	}
	sum := roomstore.Summarize(s)
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	if *brief {
		return exitOn(enc.Encode(map[string]any{"actions": n, "seq": sum.Seq, "mode": sum.Mode, "hands": len(sum.Queue),
			"chat": len(sum.Chat), "questions": len(sum.Questions), "polls": len(sum.Polls), "pending": len(sum.Pending)}), stderr)
	}
	return exitOn(enc.Encode(struct {
		Actions int `json:"actions"`
		roomstore.Summary
	}{n, sum}), stderr)
}

func exitOn(err error, stderr io.Writer) int {
	if err != nil {
		fmt.Fprintln(stderr, "podium replay:", err)
		return 1
	}
	return 0
}
