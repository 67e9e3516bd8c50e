// Package rtcapi builds the pion WebRTC API shared by Podium's SFU and its
// participants: VP8 and Opus codecs, the default interceptors (NACK
// generator/responder, RTCP sender/receiver reports, TWCC header extension,
// stats) and network settings that keep ICE on the interfaces the operator
// allows.
package rtcapi

import (
	"net"
	"strings"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/transport/v5"
	"github.com/pion/webrtc/v4"
)

// AudioLevelURI is the RTP header extension for the client-to-mixer audio
// level indication (RFC 6464).
const AudioLevelURI = "urn:ietf:params:rtp-hdrext:ssrc-audio-level"

// Options choose the network behaviour.
type Options struct {
	// LoopbackOnly keeps ICE on the loopback interface (tests, a meeting
	// hosted and joined on one computer).
	LoopbackOnly bool
	// Interfaces, when set, limits ICE to these interface names.
	Interfaces []string
	// UDPPortMin/Max bound the ephemeral UDP ports (0 = any).
	UDPPortMin, UDPPortMax uint16
	// NAT1To1IPs are public addresses to advertise as host candidates
	// (for a server behind 1:1 NAT).
	NAT1To1IPs []string
	// ConfigureInterceptors may add interceptors (e.g. bandwidth estimation).
	// They are registered before the defaults, so they sit nearest the
	// network: a pacer then also paces the NACK responder's retransmissions
	// (the order of pion's bandwidth-estimation example).
	ConfigureInterceptors func(*webrtc.MediaEngine, *interceptor.Registry) error
	// Net, when set, carries ICE and media over this network instead of
	// the host's (tests: pion's vnet adds delay and jitter in-process).
	// The interface options above are then ignored.
	Net transport.Net
}

// VP8Codec and OpusCodec are the codecs Podium negotiates.
var (
	VP8Codec = webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000,
		RTCPFeedback: []webrtc.RTCPFeedback{{Type: "goog-remb"}, {Type: "ccm", Parameter: "fir"}, {Type: "nack"}, {Type: "nack", Parameter: "pli"}, {Type: "transport-cc"}}}
	OpusCodec = webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2,
		SDPFmtpLine: "minptime=10;useinbandfec=1", RTCPFeedback: []webrtc.RTCPFeedback{{Type: "transport-cc"}}}
)

// New returns an API with Podium's codecs, interceptors and settings.
func New(o Options) (*webrtc.API, error) {
	m := &webrtc.MediaEngine{}
	if err := m.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: VP8Codec, PayloadType: 96}, webrtc.RTPCodecTypeVideo); err != nil {
		return nil, err
	}
	if err := m.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: OpusCodec, PayloadType: 111}, webrtc.RTPCodecTypeAudio); err != nil {
		return nil, err
	}
	if err := m.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: AudioLevelURI}, webrtc.RTPCodecTypeAudio); err != nil {
		return nil, err
	}
	reg := &interceptor.Registry{}
	if o.ConfigureInterceptors != nil {
		if err := o.ConfigureInterceptors(m, reg); err != nil {
			return nil, err
		}
	}
	if err := webrtc.RegisterDefaultInterceptors(m, reg); err != nil {
		return nil, err
	}
	s := webrtc.SettingEngine{}
	// mDNS candidates would send multicast queries; Podium never needs them.
	s.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	s.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	// pion's SRTP replay window is 64 packets: a retransmission (NACK)
	// or a packet held in a sender's pacer that arrives more than 64
	// packets after newer ones is dropped as a replay, and the sender's
	// congestion control counts it lost. libwebrtc uses 1024 for the same
	// reason (pc/srtp_session.cc).
	s.SetSRTPReplayProtectionWindow(1024)
	if o.Net != nil {
		s.SetNet(o.Net)
	} else if o.LoopbackOnly {
		s.SetIncludeLoopbackCandidate(true)
		s.SetInterfaceFilter(func(name string) bool { return name == "lo" || strings.HasPrefix(name, "lo") })
		s.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	} else if len(o.Interfaces) > 0 {
		allowed := map[string]bool{}
		for _, n := range o.Interfaces {
			allowed[n] = true
		}
		s.SetInterfaceFilter(func(name string) bool { return allowed[name] })
	}
	if o.UDPPortMin != 0 || o.UDPPortMax != 0 {
		if err := s.SetEphemeralUDPPortRange(o.UDPPortMin, o.UDPPortMax); err != nil {
			return nil, err
		}
	}
	if len(o.NAT1To1IPs) > 0 {
		s.SetNAT1To1IPs(o.NAT1To1IPs, webrtc.ICECandidateTypeHost)
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(reg), webrtc.WithSettingEngine(s)), nil
}
