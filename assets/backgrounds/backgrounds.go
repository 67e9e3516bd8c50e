// Package backgrounds holds the background images bundled with Podium for
// virtual-background replacement. They were drawn by gen.go (our own code,
// no third-party artwork), so they carry the project's licence:
// regenerate with `go generate ./assets/backgrounds`.
package backgrounds

import (
	"embed"
	"image"
	_ "image/jpeg" // the bundled files are JPEG
	"io/fs"
	"path"
	"sort"
	"strings"
)

//go:generate go run gen.go

//go:embed *.jpg
var files embed.FS

// Names lists the bundled backgrounds (file names without extension),
// sorted.
func Names() []string {
	ents, _ := fs.ReadDir(files, ".")
	var out []string
	for _, e := range ents {
		out = append(out, strings.TrimSuffix(e.Name(), path.Ext(e.Name())))
	}
	sort.Strings(out)
	return out
}

// Open decodes a bundled background by name (as listed by Names).
func Open(name string) (image.Image, error) {
	f, err := files.Open(name + ".jpg")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	img, _, err := image.Decode(f)
	return img, err
}
