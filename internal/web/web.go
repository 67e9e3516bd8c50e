// Package web is Podium's browser client: a small page (plain HTML, CSS and
// JavaScript, embedded in the binary) that joins a room over the same
// signaling protocol as the desktop app and publishes the browser's camera
// and microphone with WebRTC. podiumd serves it at /.
//
// The page takes the invite token from the form or from the URL
// (/?token=...); with a --dev server a name and room are enough.
package web

import (
	"embed"
	"io/fs"
	"net/http"
)

//go:embed static
var static embed.FS

// Files are the client's static files (index.html, app.js, style.css).
func Files() fs.FS {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		panic(err)
	}
	return sub
}

// Handler serves the client. Unknown paths get 404; the page itself is
// never cached so that a new podiumd's client is picked up at once.
func Handler() http.Handler {
	files := http.FileServer(http.FS(Files()))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		files.ServeHTTP(w, r)
	})
}
