package symbols

import (
	"encoding/binary"
	"fmt"
	"strings"
)

// Module streams: the private symbols of one module (procedures,
// including static functions that have no public) followed by its C13
// debug subsections (line numbers).

const cvSignatureC13 = 4

type proc struct {
	start, size uint32 // RVA in the symbol address space, code length
	name        strRef
}

// loadModules reads the procedures and line tables of every module
// that has a symbol stream.
func (b *builder) loadModules(m *msf, dbi *dbiStream, info *infoStream) error {
	var names *stringTable
	namesTried := false
	for i, mod := range dbi.modules {
		if mod.Stream < 0 {
			continue
		}
		label := fmt.Sprintf("module %d (%s)", i, baseName(mod.Name))
		if !m.present(mod.Stream) {
			return &FormatError{Offset: -1, Stream: mod.Stream, StreamName: label, Msg: "module symbol stream is missing or nil"}
		}
		s, err := m.readStream(mod.Stream, label)
		if err != nil {
			return err
		}
		symEnd := uint64(mod.symBytes)
		c13Off := symEnd + uint64(mod.c11Bytes)
		c13End := c13Off + uint64(mod.c13Bytes)
		if c13End > uint64(len(s.data)) {
			return s.errorf(len(s.data), "symbols (%d bytes), C11 lines (%d) and C13 lines (%d) overrun the %d-byte stream",
				mod.symBytes, mod.c11Bytes, mod.c13Bytes, len(s.data))
		}
		if symEnd >= 4 {
			sig := binary.LittleEndian.Uint32(s.data)
			if sig != cvSignatureC13 {
				continue // C7/C11-era symbols: not decoded
			}
			if err := b.addProcs(s, 4, int(symEnd)); err != nil {
				return err
			}
		}
		if mod.c13Bytes == 0 {
			b.addInlines(s, 0, 0, nil)
			continue
		}
		if !namesTried {
			namesTried = true
			if idx, ok := info.named["/names"]; ok && m.present(idx) {
				ns, err := m.readStream(idx, "/names")
				if err != nil {
					return err
				}
				if names, err = parseNames(ns); err != nil {
					return err
				}
			}
		}
		if names != nil { // line tables name files through /names
			if err := b.addLines(s, int(c13Off), int(c13End), names); err != nil {
				return err
			}
		}
		b.addInlines(s, int(c13Off), int(c13End), names)
	}
	return nil
}

// addProcs walks the symbol records in s.data[off:end] and keeps the
// procedures and thunks.
//
// It also notes the inline sites inside each procedure, tracking their
// nesting by S_INLINESITE / S_INLINESITE_END pairs; addInlines decodes
// them once the module's inlinee lines are known.
func (b *builder) addProcs(s *stream, off, end int) error {
	var (
		cur   proc // the procedure that inline sites belong to
		curOK bool
		depth int // open inline sites in cur
	)
	for off < end {
		r, err := recordAt(s, off, end)
		if err != nil {
			return err
		}
		off += len(r.b)
		var (
			nameAt     int
			seg        uint16
			addr, size uint32
		)
		switch r.kind {
		case sInlineSite, sInlineSite2:
			depth++
			b.inlineSite(r, depth, &cur, curOK)
			continue
		case sInlineSiteEnd:
			depth = max(depth-1, 0)
			continue
		}
		switch {
		case isProc(r.kind):
			nameAt = procNameOffset
			if len(r.b) >= nameAt {
				size, addr, seg = r.u32(16), r.u32(32), r.u16(36)
			}
		case r.kind == sThunk32:
			nameAt = thunkNameOff
			if len(r.b) >= nameAt {
				addr, seg, size = r.u32(16), r.u16(20), uint32(r.u16(22))
			}
		default:
			continue
		}
		curOK, depth = false, 0
		name, err := r.name(s, nameAt) // also checks the fixed fields fit
		if err != nil {
			return err
		}
		start, ok := b.space.rva(seg, addr)
		if !ok || uint64(start)+uint64(size) > 1<<32 {
			continue
		}
		ref, err := b.intern(s, name)
		if err != nil {
			return err
		}
		cur, curOK = proc{start: start, size: size, name: ref}, isProc(r.kind)
		b.procs = append(b.procs, cur)
	}
	return nil
}

// baseName returns the last element of a Windows or POSIX path.
func baseName(p string) string {
	if i := strings.LastIndexAny(p, `\/`); i >= 0 {
		return p[i+1:]
	}
	return p
}
