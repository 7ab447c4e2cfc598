package tokeleak

import (
	"encoding/binary"
	"unicode/utf16"

	"github.com/poolprof/poolprof/etl"
)

// enc builds a little-endian payload.
type enc []byte

func (e *enc) u8(v uint8) { *e = append(*e, v) }
func (e *enc) u16(v uint16) {
	*e = binary.LittleEndian.AppendUint16(*e, v)
}
func (e *enc) u32(v uint32) { *e = binary.LittleEndian.AppendUint32(*e, v) }
func (e *enc) u64(v uint64) { *e = binary.LittleEndian.AppendUint64(*e, v) }

func (e *enc) guid(g etl.GUID) {
	var b [16]byte
	g.PutBytes(b[:])
	*e = append(*e, b[:]...)
}

// astr appends a NUL-terminated 8-bit string.
func (e *enc) astr(s string) {
	*e = append(*e, s...)
	*e = append(*e, 0)
}

// wstr appends a NUL-terminated UTF-16LE string.
func (e *enc) wstr(s string) {
	for _, u := range utf16.Encode([]rune(s)) {
		e.u16(u)
	}
	e.u16(0)
}
