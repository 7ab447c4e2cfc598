package kernel

import (
	"encoding/binary"

	"github.com/poolprof/poolprof/etl"
)

// cursor reads little-endian fields from a payload in order. The first
// field that does not fit is remembered (sticky, as debug/dwarf's buf does)
// so a decoder reads a whole layout and checks once at the end; later
// reads return zero values. A cursor lives on the caller's stack: it must
// not allocate.
type cursor struct {
	b     []byte
	ptr   int    // pointer size of the payload, 4 or 8
	off   int    // next byte to read
	field string // first field that did not fit; "" while all fit
	need  int    // payload length that field needed
	bad   bool   // field holds an impossible value rather than a short payload
}

func newCursor(b []byte, ptrSize int) cursor { return cursor{b: b, ptr: ptrSize} }

// take returns the next n bytes, or nil after recording field as the first
// one that did not fit.
func (c *cursor) take(n int, field string) []byte {
	if c.field != "" {
		return nil
	}
	if n > len(c.b)-c.off {
		c.field, c.need = field, c.off+n
		return nil
	}
	s := c.b[c.off : c.off+n]
	c.off += n
	return s
}

func (c *cursor) u8(field string) uint8 {
	if s := c.take(1, field); s != nil {
		return s[0]
	}
	return 0
}

func (c *cursor) u16(field string) uint16 {
	if s := c.take(2, field); s != nil {
		return binary.LittleEndian.Uint16(s)
	}
	return 0
}

func (c *cursor) u32(field string) uint32 {
	if s := c.take(4, field); s != nil {
		return binary.LittleEndian.Uint32(s)
	}
	return 0
}

func (c *cursor) u64(field string) uint64 {
	if s := c.take(8, field); s != nil {
		return binary.LittleEndian.Uint64(s)
	}
	return 0
}

// pointer reads a pointer-sized field (pointers and SIZE_T).
func (c *cursor) pointer(field string) uint64 {
	if c.ptr == 4 {
		return uint64(c.u32(field))
	}
	return c.u64(field)
}

func (c *cursor) guid(field string) etl.GUID {
	if s := c.take(16, field); s != nil {
		return etl.GUIDFromBytes(s)
	}
	return etl.GUID{}
}

func (c *cursor) skip(n int, field string) { c.take(n, field) }

// remaining is the number of unread bytes, 0 after a failure.
func (c *cursor) remaining() int {
	if c.field != "" {
		return 0
	}
	return len(c.b) - c.off
}

// malformed records field as holding an impossible value.
func (c *cursor) malformed(field string) {
	if c.field == "" {
		c.field, c.need, c.bad = field, c.off, true
	}
}

// wstr reads a NUL-terminated UTF-16LE string. A string that runs to the
// end of the payload without a terminator, or starts at its end, is
// accepted: the bytes that are there make the string.
func (c *cursor) wstr() Str {
	if c.field != "" || c.off >= len(c.b) {
		return Str{wide: true}
	}
	rest := c.b[c.off:]
	for i := 0; i+1 < len(rest); i += 2 {
		if rest[i] == 0 && rest[i+1] == 0 {
			c.off += i + 2
			return Str{raw: rest[:i:i], wide: true}
		}
	}
	n := len(rest) &^ 1 // an odd last byte cannot be a code unit
	c.off = len(c.b)
	return Str{raw: rest[:n:n], wide: true}
}

// astr reads a NUL-terminated 8-bit string, tolerant as wstr is.
func (c *cursor) astr() Str {
	if c.field != "" || c.off >= len(c.b) {
		return Str{}
	}
	rest := c.b[c.off:]
	for i, ch := range rest {
		if ch == 0 {
			c.off += i + 1
			return Str{raw: rest[:i:i]}
		}
	}
	c.off = len(c.b)
	return Str{raw: rest[:len(rest):len(rest)]}
}

// err returns the decode error for the first failure, or nil.
func (c *cursor) err(ev *etl.Event, k Kind) error {
	if c.field == "" {
		return nil
	}
	cause := ErrShort
	if c.bad {
		cause = ErrMalformed
	}
	return newError(ev, k, cause, c.field, c.need)
}
