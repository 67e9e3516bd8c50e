package audio

// maxConceal is the longest gap (packets of 20 ms) a Stream fills: a
// longer one (a link cut, a sender that paused) is left to the player's
// jitter queue, which plays silence, rather than 100 ms and more of
// synthesised sound.
const maxConceal = 5

// Stream decodes one RTP stream of Opus packets in arrival order and fills
// the frames that packets lost would have carried:
//   - the frame just before a packet that arrives after a gap comes from
//     that packet's in-band forward error correction where it has some
//     (the LBRR copy an encoder with FEC on and an expected loss adds;
//     RFC 6716 section 2.1.7, hasLBRR), which is near the original at the
//     cost of a lower bitrate;
//   - any other frames in the gap (gaps up to maxConceal) come from the
//     decoder's packet loss concealment.
//
// A packet older than the newest one decoded is dropped: its frame was
// already filled. Sequence numbers are RTP's, 16 bits, wrapping.
type Stream struct {
	dec     *Decoder
	last    uint16
	started bool
	// Recovered and Concealed count the frames filled from FEC and by
	// concealment; Late counts packets dropped for arriving after their
	// frame was filled.
	Concealed, Recovered, Late int
}

// NewStream returns a Stream with its own Opus decoder.
func NewStream() (*Stream, error) {
	d, err := NewDecoder()
	if err != nil {
		return nil, err
	}
	return &Stream{dec: d}, nil
}

// Decode takes the packet with sequence number seq and returns the frames
// to play now, in order: the filled ones, then the packet's own. It
// returns no frames for a late or duplicate packet. An error is the
// decoder's for this packet's own frame (the filled ones are returned
// with it).
func (s *Stream) Decode(seq uint16, payload []byte) ([][]int16, error) {
	var out [][]int16
	if s.started {
		d := int16(seq - s.last)
		if d <= 0 {
			s.Late++
			return nil, nil
		}
		if gap := int(d) - 1; gap > 0 && gap <= maxConceal {
			for i := 0; i < gap-1; i++ {
				if pcm, err := s.dec.Decode(nil); err == nil {
					out = append(out, pcm)
					s.Concealed++
				}
			}
			var pcm []int16
			if hasLBRR(payload) {
				if f, err := s.dec.decodeFEC(payload); err == nil {
					pcm = f
					s.Recovered++
				}
			}
			if pcm == nil { // no FEC, or it would not decode
				if f, err := s.dec.Decode(nil); err == nil {
					pcm = f
					s.Concealed++
				}
			}
			if pcm != nil {
				out = append(out, pcm)
			}
		}
	}
	s.last, s.started = seq, true
	pcm, err := s.dec.Decode(payload)
	if err != nil {
		return out, err
	}
	return append(out, pcm), nil
}
