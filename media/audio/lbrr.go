package audio

// hasLBRR reports whether an Opus packet carries in-band FEC for the frame
// before it: the LBRR flag of its SILK layer (RFC 6716 section 4.2.3),
// read with the range decoder of section 4.1 (as libopus's entdec.c and
// silk/dec_API.c read it). Only single-frame mono packets in SILK-only or
// hybrid mode have it read; for any other packet (CELT only, stereo,
// several frames) it reports false.
func hasLBRR(pkt []byte) bool {
	if len(pkt) < 2 {
		return false
	}
	toc := pkt[0]
	config := toc >> 3
	if config >= 16 || toc&0x04 != 0 || toc&0x03 != 0 {
		return false // CELT only; stereo; not one frame (code 0)
	}
	// SILK frames per Opus frame: configs 0-11 are SILK only at 10, 20,
	// 40, 60 ms (config % 4); 12-15 hybrid at 10, 20 ms. SILK codes 20 ms
	// frames (one 10 ms frame for 10 ms).
	frames := 1
	if config < 12 {
		frames = max(1, int(config%4)) // 10 ms: 1, 20: 1, 40: 2, 60: 3
	}
	d := rangeDecoder{data: pkt[1:]}
	d.init()
	for range frames {
		d.bitLogp1() // VAD flag
	}
	return d.bitLogp1()
}

// rangeDecoder is the start of RFC 6716's range decoder (section 4.1):
// enough to read the SILK header's equiprobable flags.
type rangeDecoder struct {
	data     []byte
	pos      int
	rng, val uint32
	rem      uint32
}

func (d *rangeDecoder) byte() uint32 {
	if d.pos >= len(d.data) {
		return 0
	}
	b := d.data[d.pos]
	d.pos++
	return uint32(b)
}

// init is ec_dec_init (section 4.1.1).
func (d *rangeDecoder) init() {
	d.rng = 128
	d.rem = d.byte()
	d.val = d.rng - 1 - d.rem>>1
	d.normalize()
}

// normalize is ec_dec_normalize (section 4.1.2.1).
func (d *rangeDecoder) normalize() {
	for d.rng <= 1<<23 {
		d.rng <<= 8
		sym := d.rem
		d.rem = d.byte()
		sym = (sym<<8 | d.rem) >> 1
		d.val = ((d.val << 8) + (255 &^ sym)) & (1<<31 - 1)
	}
}

// bitLogp1 is ec_dec_bit_logp with logp 1 (section 4.1.3.2): one flag of
// probability 1/2.
func (d *rangeDecoder) bitLogp1() bool {
	s := d.rng >> 1
	ret := d.val < s
	if ret {
		d.rng = s
	} else {
		d.val -= s
		d.rng -= s
	}
	d.normalize()
	return ret
}
