// Package assets holds the files bundled into the app: the icon (also
// FyneApp.toml's Icon).
package assets

import (
	_ "embed"

	"fyne.io/fyne/v2"
)

//go:embed icon.png
var iconPNG []byte

// Icon is the app icon.
var Icon = fyne.NewStaticResource("icon.png", iconPNG)
