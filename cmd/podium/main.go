// Command podium is the Podium desktop app. With --headless it joins a
// room as a participant with no window (tests, load, interop); `podium
// replay FILE` prints the room state a saved --action-log produces:
//
//	podium --headless --url ws://127.0.0.1:7880/ws --token T --video talk.mp4 --audio speech.wav
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/podiumhq/podium/internal/headless"
	"github.com/podiumhq/podium/internal/version"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "replay" {
		os.Exit(replayMain(os.Args[2:], os.Stdout, os.Stderr))
	}
	fs := flag.NewFlagSet("podium", flag.ExitOnError)
	isHeadless := fs.Bool("headless", false, "join without a window and print stats as JSON lines")
	showVersion := fs.Bool("version", false, "print the version")
	ho := headless.Flags(fs)
	registerAppFlags(fs)
	_ = fs.Parse(os.Args[1:])
	if *showVersion {
		fmt.Println("podium", version.Version)
		return
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	slog.SetDefault(log)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *isHeadless {
		if err := headless.Run(ctx, *ho, os.Stdout, log); err != nil {
			fmt.Fprintln(os.Stderr, "podium:", err)
			os.Exit(1)
		}
		return
	}
	if err := runApp(ctx, fs); err != nil {
		fmt.Fprintln(os.Stderr, "podium:", err)
		os.Exit(1)
	}
}
