// Package xpress implements the plain LZ77 "XPRESS" codec of [MS-XCA] §2.3/§2.4,
// the format Windows uses for the payload of compressed ETL buffers
// (BufferFlag 0x40). It is not XPRESS-Huffman and not LZNT1.
//
// Stream layout: a little-endian u32 flag word describes the next 32 items,
// most significant bit first; a 0 bit is one literal byte, a 1 bit is a match
// token (u16: distance-1 in the high 13 bits, length-3 in the low 3 bits,
// 7 meaning "more length follows").
package xpress

import (
	"encoding/binary"
	"math/bits"
	"strconv"
)

const (
	maxDistance = 8192 // 13-bit distance field, stored minus one
	minMatch    = 3    // the 3-bit length field is stored minus three
)

// CorruptError reports a stream that cannot be decoded. Offset is the input
// offset of the item (flag word, token or length byte) that failed, so a
// caller can point at the bad byte in the file.
type CorruptError struct {
	Offset int
	Reason string
}

func (e *CorruptError) Error() string {
	return "xpress: corrupt input at offset " + strconv.Itoa(e.Offset) + ": " + e.Reason
}

// Reasons are package-level constants so that building an error needs no
// formatting; only the *CorruptError itself is allocated, and only on failure.
const (
	reasonFlags    = "truncated flag word"
	reasonToken    = "truncated match token"
	reasonNibble   = "truncated length nibble byte"
	reasonLenByte  = "truncated length byte"
	reasonLen16    = "truncated 16-bit length"
	reasonLen32    = "truncated 32-bit length"
	reasonShortLen = "16/32-bit match length below 22"
	reasonDistance = "match distance reaches before the start of the output"
)

// flagsEmpty is the flag register once all 32 bits of a flag word are used:
// the register holds the word in its high half and a sentinel bit just below
// it, so the sentinel reaches bit 63 exactly after 32 shifts.
const flagsEmpty = 1 << 63

// Decompress decodes the plain LZ77 stream src into dst and returns the number
// of bytes written.
//
// It stops without error when dst is full (so a caller may decode only a
// prefix, e.g. to peek at a record header) or when src ends at an item
// boundary: the encoder pads the last flag word with 1 bits, and a match bit
// with no token left is the normal end of stream. Running out of input in the
// middle of a flag word, token or length field, or a match reaching before the
// start of dst, gives a *CorruptError. Decompress never writes outside dst and
// allocates only on error.
func Decompress(dst, src []byte) (int, error) {
	var (
		ip, op  int
		nibble  = -1 // input offset of the shared length-nibble byte, -1 if none pending
		flags   uint64
		outSize = len(dst)
	)
	flags = flagsEmpty
	for op < outSize {
		if flags == flagsEmpty {
			if len(src)-ip < 4 {
				if ip == len(src) {
					return op, nil
				}
				return op, &CorruptError{Offset: ip, Reason: reasonFlags}
			}
			flags = uint64(binary.LittleEndian.Uint32(src[ip:]))<<32 | 1<<31
			ip += 4
		}

		// A run of 0 bits is a run of literals: copy them in one go.
		if flags < 1<<63 {
			n := bits.LeadingZeros64(flags)
			if r := len(src) - ip; n > r {
				n = r
			}
			if r := outSize - op; n > r {
				n = r
			}
			if n < 8 {
				// Short runs are the common case in ETL data; a byte loop is cheaper
				// than calling copy.
				s := src[ip : ip+n]
				d := dst[op : op+n]
				for i := range s {
					d[i] = s[i]
				}
			} else {
				copy(dst[op:op+n], src[ip:ip+n])
			}
			ip += n
			op += n
			flags <<= uint(n)
			if flags < 1<<63 {
				// Stopped early: either dst is full or src ran out on a literal.
				return op, nil
			}
			continue
		}

		// Match.
		flags <<= 1
		tokenAt := ip
		if len(src)-ip < 2 {
			if ip == len(src) {
				return op, nil // padding bit after the last item
			}
			return op, &CorruptError{Offset: ip, Reason: reasonToken}
		}
		tok := int(binary.LittleEndian.Uint16(src[ip:]))
		ip += 2
		dist := tok>>3 + 1
		length := uint64(tok & 7)
		if length == 7 {
			var v int
			if nibble < 0 {
				if ip >= len(src) {
					return op, &CorruptError{Offset: ip, Reason: reasonNibble}
				}
				v = int(src[ip] & 15)
				nibble = ip
				ip++
			} else {
				v = int(src[nibble] >> 4)
				nibble = -1
			}
			length += uint64(v)
			if v == 15 {
				if ip >= len(src) {
					return op, &CorruptError{Offset: ip, Reason: reasonLenByte}
				}
				b := src[ip]
				ip++
				if b != 255 {
					length += uint64(b)
				} else {
					if len(src)-ip < 2 {
						return op, &CorruptError{Offset: ip, Reason: reasonLen16}
					}
					l := uint64(binary.LittleEndian.Uint16(src[ip:]))
					ip += 2
					if l == 0 {
						if len(src)-ip < 4 {
							return op, &CorruptError{Offset: ip, Reason: reasonLen32}
						}
						l = uint64(binary.LittleEndian.Uint32(src[ip:]))
						ip += 4
					}
					if l < 15+7 {
						return op, &CorruptError{Offset: tokenAt, Reason: reasonShortLen}
					}
					// The 16/32-bit forms hold the whole length minus 3.
					length = l
				}
			}
		}
		length += minMatch

		if dist > op {
			return op, &CorruptError{Offset: tokenAt, Reason: reasonDistance}
		}
		n := outSize - op
		if length < uint64(n) {
			n = int(length)
		}
		from := op - dist
		switch {
		case dist >= n:
			// No overlap between source and destination.
			copy(dst[op:op+n], dst[from:from+n])
			op += n
		case dist == 1:
			// Run of one byte: the common "zeros" case.
			d := dst[op : op+n]
			c := dst[from]
			for i := range d {
				d[i] = c
			}
			op += n
		case n <= 16:
			d := dst[from : op+n]
			for i := dist; i < len(d); i++ {
				d[i] = d[i-dist]
			}
			op += n
		default:
			// Overlapping long match: the pattern repeats with period dist, so
			// copying everything produced since from doubles the copied span
			// each round.
			end := op + n
			for op < end {
				op += copy(dst[op:end], dst[from:op])
			}
		}
	}
	return op, nil
}

// MaxCompressedLen returns the largest output Compress can produce for n input
// bytes: all literals plus one flag word per 32 items and the final one.
// Every match costs fewer bytes and flag bits than the literals it replaces.
func MaxCompressedLen(n int) int {
	return n + 4*(n/32+1)
}

const (
	hashBits = 14
	hashLen  = 4 // bytes hashed; also the minimum match the encoder emits
	// maxMatchLen keeps length-3 within the u32 length form and within int on
	// 32-bit platforms.
	maxMatchLen = 1<<31 - 1
)

func hash4(u uint32) uint32 {
	return (u * 0x9E3779B1) >> (32 - hashBits)
}

// encoder is the output state of Compress: the stream being built, the
// position of the pending flag word and the pending shared length nibble.
type encoder struct {
	out     []byte
	op      int
	flagPos int
	flags   uint32
	nflags  uint
	nibble  int // output offset of a length byte whose high nibble is free, -1 if none
}

func (e *encoder) endItem() {
	if e.nflags == 32 {
		binary.LittleEndian.PutUint32(e.out[e.flagPos:], e.flags)
		e.flagPos = e.op
		e.op += 4
		e.nflags = 0
		e.flags = 0
	}
}

func (e *encoder) literals(lit []byte) {
	for len(lit) > 0 {
		n := min(len(lit), int(32-e.nflags))
		copy(e.out[e.op:], lit[:n])
		e.op += n
		e.flags <<= uint(n)
		e.nflags += uint(n)
		lit = lit[n:]
		e.endItem()
	}
}

func (e *encoder) match(dist, length int) {
	l := length - minMatch
	tok := uint16(dist-1) << 3
	if l < 7 {
		binary.LittleEndian.PutUint16(e.out[e.op:], tok|uint16(l))
		e.op += 2
	} else {
		binary.LittleEndian.PutUint16(e.out[e.op:], tok|7)
		e.op += 2
		l -= 7
		v := min(l, 15)
		if e.nibble < 0 {
			e.out[e.op] = byte(v)
			e.nibble = e.op
			e.op++
		} else {
			e.out[e.nibble] |= byte(v) << 4
			e.nibble = -1
		}
		if v == 15 {
			l -= 15
			if l < 255 {
				e.out[e.op] = byte(l)
				e.op++
			} else {
				e.out[e.op] = 255
				l += 15 + 7 // the 16/32-bit forms hold length-3
				if l < 1<<16 {
					binary.LittleEndian.PutUint16(e.out[e.op+1:], uint16(l))
					e.op += 3
				} else {
					binary.LittleEndian.PutUint16(e.out[e.op+1:], 0)
					binary.LittleEndian.PutUint32(e.out[e.op+3:], uint32(l))
					e.op += 7
				}
			}
		}
	}
	e.flags = e.flags<<1 | 1
	e.nflags++
	e.endItem()
}

// Compress appends a plain LZ77 stream for src to dst and returns the extended
// slice. It is a greedy single-probe hash matcher: fast and simple, with a
// good ratio on the repetitive data of ETL buffers, not an optimal parse.
func Compress(dst, src []byte) []byte {
	start := len(dst)
	need := MaxCompressedLen(len(src))
	if cap(dst)-start < need {
		grown := make([]byte, start, start+need)
		copy(grown, dst)
		dst = grown
	}
	e := encoder{out: dst[:start+need], op: start + 4, flagPos: start, nibble: -1}

	var table [1 << hashBits]uint32 // positions+1 of the last 4-byte sequence per hash, 0 = empty
	lit := 0                        // start of pending literals
	i := 0
	limit := len(src) - 8 // the matcher loads 8 bytes at a time
	misses := 0
	for i <= limit {
		cur := binary.LittleEndian.Uint32(src[i:])
		h := hash4(cur)
		cand := int(table[h]) - 1
		table[h] = uint32(i + 1)
		if cand < 0 || i-cand > maxDistance || binary.LittleEndian.Uint32(src[cand:]) != cur {
			// Skip faster through incompressible data, as snappy does.
			misses++
			i += 1 + misses>>5
			continue
		}
		misses = 0
		// Extend the match 8 bytes at a time.
		m := i + hashLen
		c := cand + hashLen
		for m <= limit {
			x := binary.LittleEndian.Uint64(src[m:]) ^ binary.LittleEndian.Uint64(src[c:])
			if x != 0 {
				m += bits.TrailingZeros64(x) >> 3
				goto extended
			}
			m += 8
			c += 8
		}
		for m < len(src) && src[m] == src[c] {
			m++
			c++
		}
	extended:
		e.literals(src[lit:i])
		length := m - i
		for length > maxMatchLen {
			e.match(i-cand, maxMatchLen)
			length -= maxMatchLen
		}
		if length < minMatch {
			// Only after splitting a huge match; emit the tail as literals.
			e.literals(src[m-length : m])
		} else {
			e.match(i-cand, length)
		}
		// Seed the table inside the match so the next search can find it.
		if m-2 <= limit && m-2 > i {
			table[hash4(binary.LittleEndian.Uint32(src[m-2:]))] = uint32(m - 2 + 1)
		}
		i = m
		lit = m
	}
	e.literals(src[lit:])

	// Pad the last flag word with 1 bits: the decoder then sees a match with
	// no token left and stops (MS-XCA §2.3).
	free := 32 - e.nflags
	f := uint64(e.flags)<<free | (1<<free - 1)
	binary.LittleEndian.PutUint32(e.out[e.flagPos:], uint32(f))
	return e.out[:e.op]
}
