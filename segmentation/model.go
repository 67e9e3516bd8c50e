package segmentation

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// File names of the converted models written by `make model`.
const (
	// GeneralModel is the 256 x 256 (W x H) general model.
	GeneralModel = "selfie_segmentation.onnx"
	// LandscapeModel is the 256 x 144 (W x H) landscape model, cheaper and
	// matching 16:9 frames better.
	LandscapeModel = "selfie_segmentation_landscape.onnx"
)

// EnvModelDir names the environment variable holding a directory to search
// for models before any default location.
const EnvModelDir = "PODIUM_MODEL_DIR"

// ErrModelNotFound is wrapped by FindModel's error when no candidate exists.
var ErrModelNotFound = errors.New("segmentation model not found (run `make model` to convert it)")

// FindModel returns the path of a model file. name is either a path to a file
// (an explicit flag value; used as is when it exists) or a file name such as
// [GeneralModel], searched for, in order, in:
//
//  1. $PODIUM_MODEL_DIR
//  2. the executable's directory, its models/ subdirectory, and
//     ../share/podium/models relative to it (installed layouts)
//  3. os.UserConfigDir()/podium/models and $XDG_DATA_HOME/podium/models
//     (default ~/.local/share/podium/models)
//  4. <repo>/build/models when the working directory is inside Podium's
//     source tree (where `make model` writes)
//
// The error for a missing model wraps [ErrModelNotFound], lists every place
// searched and names `make model`.
func FindModel(name string) (string, error) {
	if name == "" {
		return "", fmt.Errorf("%w: empty model name", ErrModelNotFound)
	}
	if st, err := os.Stat(name); err == nil && !st.IsDir() {
		return name, nil
	}
	if strings.ContainsRune(name, os.PathSeparator) {
		return "", fmt.Errorf("%w: %s does not exist", ErrModelNotFound, name)
	}
	var dirs []string
	if d := os.Getenv(EnvModelDir); d != "" {
		dirs = append(dirs, d)
	}
	if exe, err := os.Executable(); err == nil {
		if r, err := filepath.EvalSymlinks(exe); err == nil {
			exe = r
		}
		d := filepath.Dir(exe)
		dirs = append(dirs, d, filepath.Join(d, "models"), filepath.Join(d, "..", "share", "podium", "models"))
	}
	if d, err := os.UserConfigDir(); err == nil {
		dirs = append(dirs, filepath.Join(d, "podium", "models"))
	}
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		dirs = append(dirs, filepath.Join(d, "podium", "models"))
	} else if h, err := os.UserHomeDir(); err == nil {
		dirs = append(dirs, filepath.Join(h, ".local", "share", "podium", "models"))
	}
	if root := sourceRoot(); root != "" {
		dirs = append(dirs, filepath.Join(root, "build", "models"))
	}
	for _, d := range dirs {
		p := filepath.Join(d, name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p, nil
		}
	}
	return "", fmt.Errorf("%w: %s not in %s", ErrModelNotFound, name, strings.Join(dirs, ", "))
}

// sourceRoot walks up from the working directory to a go.mod declaring
// Podium's module and returns its directory, or "".
func sourceRoot() string {
	wd, err := os.Getwd()
	if err != nil {
		return ""
	}
	for d := wd; ; {
		if f, err := os.Open(filepath.Join(d, "go.mod")); err == nil {
			sc := bufio.NewScanner(f)
			ok := sc.Scan() && strings.TrimSpace(sc.Text()) == "module github.com/podiumhq/podium"
			f.Close()
			if ok {
				return d
			}
		}
		parent := filepath.Dir(d)
		if parent == d {
			return ""
		}
		d = parent
	}
}
