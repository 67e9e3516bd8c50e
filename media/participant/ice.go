package participant

import (
	"github.com/pion/webrtc/v4"

	"github.com/podiumhq/podium/signaling/protocol"
)

// iceServers is the ICE configuration: the servers configured by the
// caller, else those the server sent with the join answer (its own TURN
// relay with time-limited credentials). Never any public server.
func iceServers(configured []webrtc.ICEServer, fromServer []protocol.ICEServer) []webrtc.ICEServer {
	if len(configured) > 0 {
		return configured
	}
	var out []webrtc.ICEServer
	for _, s := range fromServer {
		out = append(out, webrtc.ICEServer{URLs: s.URLs, Username: s.Username, Credential: s.Credential, CredentialType: webrtc.ICECredentialTypePassword})
	}
	return out
}
