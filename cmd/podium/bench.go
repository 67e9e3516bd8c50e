package main

import (
	"context"
	"errors"
	"time"

	"fyne.io/fyne/v2"
)

func runBench(ctx context.Context, a fyne.App, tiles string, per time.Duration, video string) error {
	return errors.New("bench: not built yet")
}
