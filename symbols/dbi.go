package symbols

import (
	"encoding/binary"
	"fmt"
)

// The DBI stream (stream 3): the age that matches an image, the stream
// numbers of the public symbols and symbol records, the module list and
// the optional debug header that locates section headers and OMAP.

const (
	dbiStreamIndex  = 3
	dbiHeaderSize   = 64
	dbiVersionV70   = 19990903
	moduleFixedSize = 64

	// Flags in the DBI header: bit 0 incrementally linked, bit 1 private
	// symbols stripped, bit 2 conflicting types.
	dbiFlagStripped = 1 << 1

	// Slots of the optional debug header that the reader uses (0 FPO,
	// 1 exception, 2 fixup, 6 token/RID map, 7 xdata, 8 pdata and 9 new
	// FPO are not read).
	dbgOmapToSrc      = 3
	dbgOmapFromSrc    = 4
	dbgSectionHdr     = 5
	dbgSectionHdrOrig = 10
)

type dbiStream struct {
	age           uint32
	globalsStream uint16
	publicsStream uint16
	symRecStream  uint16
	flags         uint16
	machine       uint16
	modules       []Module
	dbgStreams    []uint16 // optional debug header
}

// dbgStream returns the stream number in slot i of the optional debug
// header, or -1.
func (d *dbiStream) dbgStream(i int) int {
	if i >= len(d.dbgStreams) || d.dbgStreams[i] == noStream {
		return -1
	}
	return int(d.dbgStreams[i])
}

// Module is one entry of the DBI module list: an object file or import
// library member that contributed to the image.
type Module struct {
	Name       string // module name, usually the object file's path
	ObjectFile string // object or library file name
	// Stream is the module's symbol stream, or -1 when the PDB has no
	// private symbols for it (the case in stripped PDBs).
	Stream int

	symBytes, c11Bytes, c13Bytes uint32
}

func parseDBI(s *stream) (*dbiStream, error) {
	d := s.data
	if len(d) < dbiHeaderSize {
		return nil, s.errorf(len(d), "DBI stream is %d bytes, need at least %d", len(d), dbiHeaderSize)
	}
	if sig := int32(binary.LittleEndian.Uint32(d[0:])); sig != -1 {
		return nil, &UnsupportedError{Offset: s.m.fileOffset(s.idx, 0),
			What: fmt.Sprintf("old DBI stream format (signature %d)", sig)}
	}
	if v := binary.LittleEndian.Uint32(d[4:]); v < dbiVersionV70 {
		return nil, &UnsupportedError{Offset: s.m.fileOffset(s.idx, 4),
			What: fmt.Sprintf("DBI stream version %d (before VC 7.0)", v)}
	}
	h := &dbiStream{
		age:           binary.LittleEndian.Uint32(d[8:]),
		globalsStream: binary.LittleEndian.Uint16(d[12:]),
		publicsStream: binary.LittleEndian.Uint16(d[16:]),
		symRecStream:  binary.LittleEndian.Uint16(d[20:]),
		flags:         binary.LittleEndian.Uint16(d[56:]),
		machine:       binary.LittleEndian.Uint16(d[58:]),
	}
	// Substream sizes, in file order. EC comes before the optional debug
	// header although its size field comes after.
	sizeAt := [...]int{24, 28, 32, 36, 40, 52, 48}
	var sizes [len(sizeAt)]int
	off := dbiHeaderSize
	for i, at := range sizeAt {
		n := int32(binary.LittleEndian.Uint32(d[at:]))
		if n < 0 || int64(n) > int64(len(d)-off) {
			return nil, s.errorf(at, "substream size %d does not fit in the %d bytes after offset %#x", n, len(d)-off, off)
		}
		sizes[i] = int(n)
		off += int(n)
	}
	modOff := dbiHeaderSize
	mods, err := parseModules(s, modOff, sizes[0])
	if err != nil {
		return nil, err
	}
	h.modules = mods

	dbgOff := off - sizes[6]
	dbg := d[dbgOff:off]
	h.dbgStreams = make([]uint16, len(dbg)/2)
	for i := range h.dbgStreams {
		h.dbgStreams[i] = binary.LittleEndian.Uint16(dbg[2*i:])
	}
	return h, nil
}

// parseModules decodes the module info substream at off, n bytes long.
func parseModules(s *stream, off, n int) ([]Module, error) {
	d := s.data[off : off+n]
	mods := make([]Module, 0, len(d)/moduleFixedSize)
	for pos := 0; pos < len(d); {
		if len(d)-pos < moduleFixedSize {
			return nil, s.errorf(off+pos, "module record %d: %d bytes left, need %d", len(mods), len(d)-pos, moduleFixedSize)
		}
		r := d[pos:]
		m := Module{
			Stream:   int(binary.LittleEndian.Uint16(r[34:])),
			symBytes: binary.LittleEndian.Uint32(r[36:]),
			c11Bytes: binary.LittleEndian.Uint32(r[40:]),
			c13Bytes: binary.LittleEndian.Uint32(r[44:]),
		}
		if m.Stream == noStream {
			m.Stream = -1
		}
		p := moduleFixedSize
		name, ok := cstring(r[p:])
		if !ok {
			return nil, s.errorf(off+pos+p, "module record %d: unterminated module name", len(mods))
		}
		p += len(name) + 1
		obj, ok := cstring(r[p:])
		if !ok {
			return nil, s.errorf(off+pos+p, "module record %d: unterminated object file name", len(mods))
		}
		p += len(obj) + 1
		m.Name, m.ObjectFile = string(name), string(obj)
		mods = append(mods, m)
		pos += (p + 3) &^ 3
	}
	return mods, nil
}
