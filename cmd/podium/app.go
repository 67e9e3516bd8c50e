package main

import (
	"context"
	"errors"
	"flag"
)

// runApp opens the desktop window (the Fyne UI lands with the desktop-app work).
func runApp(context.Context, *flag.FlagSet) error {
	return errors.New("the desktop window is not built yet: use --headless")
}
