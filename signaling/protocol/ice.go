package protocol

// ICEServer is a STUN or TURN server a client may use (the
// RTCIceServer fields). The server sends its own relay, with time-limited
// credentials, in JoinedBody.ICEServers; clients use only those.
type ICEServer struct {
	URLs       []string `json:"urls"`
	Username   string   `json:"username,omitempty"`
	Credential string   `json:"credential,omitempty"`
}
