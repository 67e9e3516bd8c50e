//go:build tools

// Package tools pins module dependencies used across Podium so that go mod tidy keeps them.
package tools

import (
	_ "fyne.io/fyne/v2"
	_ "github.com/coder/websocket"
	_ "github.com/go-gl/gl/v4.1-core/gl"
	_ "github.com/golang-jwt/jwt/v5"
	_ "github.com/google/flatbuffers/go"
	_ "github.com/pion/interceptor"
	_ "github.com/pion/mediadevices"
	_ "github.com/pion/mediadevices/pkg/codec/opus"
	_ "github.com/pion/mediadevices/pkg/codec/vpx"
	_ "github.com/pion/webrtc/v4"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "gocv.io/x/gocv"
	_ "google.golang.org/protobuf/encoding/protowire"
	_ "gopkg.in/hraban/opus.v2"
)
