package symbols

import (
	"encoding/binary"
)

// C13 line information: DEBUG_S_LINES subsections give (offset, line)
// rows for a range of code, per source file; DEBUG_S_FILECHKSMS entries
// name those files through the /names string table.

const (
	debugSLines         = 0xF2
	debugSFileChecksums = 0xF4
	debugSIgnore        = 0x80000000

	linesHaveColumns = 1

	lineNumberMask = 0xFFFFFF
	// Line numbers that compilers use for code without a source line.
	lineHidden  = 0xFEEFEE
	lineHidden2 = 0xF00F00
	noFile      = ^uint32(0)
)

// lineRow is one row of the merged line table. A row with line 0 ends
// the previous row without starting a new one: it marks the end of a
// DEBUG_S_LINES range or code without a source line.
type lineRow struct {
	rva  uint32 // in the symbol address space
	line uint32
	file uint32 // index into PDB.files, or noFile
}

// addLines decodes the C13 subsections in s.data[off:end].
func (b *builder) addLines(s *stream, off, end int, names *stringTable) error {
	// First the file checksums, which line blocks refer to by offset.
	var chk []byte
	err := walkSubsections(s, off, end, func(kind uint32, _ int, body []byte) error {
		if kind == debugSFileChecksums && chk == nil {
			chk = body
		}
		return nil
	})
	if err != nil {
		return err
	}
	return walkSubsections(s, off, end, func(kind uint32, at int, body []byte) error {
		if kind != debugSLines {
			return nil
		}
		if len(body) < 12 {
			return s.errorf(at, "line subsection of %d bytes, need at least 12", len(body))
		}
		secOff := binary.LittleEndian.Uint32(body[0:])
		seg := binary.LittleEndian.Uint16(body[4:])
		flags := binary.LittleEndian.Uint16(body[6:])
		codeSize := binary.LittleEndian.Uint32(body[8:])
		base, ok := b.space.rva(seg, secOff)
		if !ok || uint64(base)+uint64(codeSize) > 1<<32 {
			return nil
		}
		rowSize := uint64(8)
		if flags&linesHaveColumns != 0 {
			rowSize += 4
		}
		for p := 12; p < len(body); {
			if len(body)-p < 12 {
				return s.errorf(at+p, "line block header: %d bytes left, need 12", len(body)-p)
			}
			fileRef := binary.LittleEndian.Uint32(body[p:])
			nLines := binary.LittleEndian.Uint32(body[p+4:])
			blockBytes := binary.LittleEndian.Uint32(body[p+8:])
			if blockBytes < 12 || uint64(blockBytes) > uint64(len(body)-p) {
				return s.errorf(at+p+8, "line block size %d outside 12..%d", blockBytes, len(body)-p)
			}
			if uint64(nLines)*rowSize > uint64(blockBytes-12) {
				return s.errorf(at+p+4, "%d line rows do not fit in a %d-byte block", nLines, blockBytes)
			}
			file, err := b.fileFor(s, chk, fileRef, names, at+p)
			if err != nil {
				return err
			}
			rows := body[p+12:]
			for k := 0; k < int(nLines); k++ {
				ro := binary.LittleEndian.Uint32(rows[8*k:])
				ln := binary.LittleEndian.Uint32(rows[8*k+4:]) & lineNumberMask
				if ro >= codeSize && codeSize != 0 {
					continue
				}
				if ln == lineHidden || ln == lineHidden2 {
					ln = 0
				}
				row := lineRow{rva: base + ro, line: ln, file: file}
				if ln == 0 {
					row.file = noFile
				}
				b.lines = append(b.lines, row)
			}
			p += int(blockBytes)
		}
		b.lines = append(b.lines, lineRow{rva: base + codeSize, file: noFile})
		return nil
	})
}

// walkSubsections calls fn for each C13 subsection in s.data[off:end]
// with its kind (the ignore bit cleared), the stream offset of its body
// and the body. Subsections marked "ignore" are skipped.
func walkSubsections(s *stream, off, end int, fn func(kind uint32, at int, body []byte) error) error {
	for p := off; p < end; {
		if end-p < 8 {
			return s.errorf(p, "C13 subsection header: %d bytes left, need 8", end-p)
		}
		kind := binary.LittleEndian.Uint32(s.data[p:])
		n := binary.LittleEndian.Uint32(s.data[p+4:])
		if uint64(n) > uint64(end-p-8) {
			return s.errorf(p+4, "C13 subsection of %d bytes overruns the %d bytes left", n, end-p-8)
		}
		if kind&debugSIgnore == 0 {
			if err := fn(kind, p+8, s.data[p+8:p+8+int(n)]); err != nil {
				return err
			}
		}
		p += 8 + (int(n)+3)&^3
	}
	return nil
}

// fileFor returns the file table index of the checksum entry at
// offset ref in the module's checksum subsection.
func (b *builder) fileFor(s *stream, chk []byte, ref uint32, names *stringTable, at int) (uint32, error) {
	if uint64(ref)+6 > uint64(len(chk)) {
		return 0, s.errorf(at, "line block refers to file checksum entry %#x outside the %d-byte checksum subsection", ref, len(chk))
	}
	nameOff := binary.LittleEndian.Uint32(chk[ref:])
	if idx, ok := b.fileIdx[nameOff]; ok {
		return idx, nil
	}
	name, err := names.str(nameOff) // a substring of the table: no copy
	if err != nil {
		return 0, err
	}
	idx := uint32(len(b.files))
	b.files = append(b.files, name)
	if b.fileIdx == nil {
		b.fileIdx = make(map[uint32]uint32)
	}
	b.fileIdx[nameOff] = idx
	return idx, nil
}
