package symbols

// Binary annotations: the compressed program in S_INLINESITE records
// that maps an inline site's code ranges to lines of the inlinee. Each
// operation updates a small state machine (code offset, line, file);
// the operations that move the code offset start a new row, and the
// previous row ends where the next one starts unless a code length
// closed it earlier.

const (
	baEnd                           = 0 // padding after the last operation
	baCodeOffset                    = 1
	baChangeCodeOffsetBase          = 2
	baChangeCodeOffset              = 3
	baChangeCodeLength              = 4
	baChangeFile                    = 5
	baChangeLineOffset              = 6
	baChangeLineEndDelta            = 7
	baChangeRangeKind               = 8
	baChangeColumnStart             = 9
	baChangeColumnEndDelta          = 10
	baChangeCodeOffsetAndLineOffset = 11
	baChangeCodeLengthAndCodeOffset = 12
	baChangeColumnEnd               = 13
)

// annotRow is one decoded row: code [start, start+length) relative to
// the enclosing procedure, at a line of the file named by a checksum
// offset (fileRef) in the module's checksum subsection.
type annotRow struct {
	start, length uint32
	line          uint32
	fileRef       uint32
}

// uncompress reads one compressed unsigned integer (1, 2 or 4 bytes,
// the length given by the top bits of the first byte) from b.
func uncompress(b []byte) (v uint32, n int, ok bool) {
	if len(b) == 0 {
		return 0, 0, false
	}
	switch c := uint32(b[0]); {
	case c&0x80 == 0:
		return c, 1, true
	case c&0xC0 == 0x80:
		if len(b) < 2 {
			return 0, 0, false
		}
		return (c&0x3F)<<8 | uint32(b[1]), 2, true
	case c&0xE0 == 0xC0:
		if len(b) < 4 {
			return 0, 0, false
		}
		return (c&0x1F)<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]), 4, true
	}
	return 0, 0, false
}

// decodeSigned undoes the sign rotation of line and column deltas: the
// sign is in bit 0 and the magnitude above it.
func decodeSigned(v uint32) int32 {
	if v&1 != 0 {
		return -int32(v >> 1)
	}
	return int32(v >> 1)
}

// decodeAnnotations runs the annotation program b for a site whose
// inlinee starts at line and fileRef, appending its rows (those of
// non-zero length) to rows. It reports false, with the rows decoded so
// far, when the program is malformed: an unknown opcode, a truncated
// operand.
func decodeAnnotations(b []byte, line, fileRef uint32, rows []annotRow) ([]annotRow, bool) {
	var (
		offset, base uint32
		open         = -1 // index in rows of the row without an end, or -1
		first        = len(rows)
	)
	next := func() (uint32, bool) {
		v, n, ok := uncompress(b)
		b = b[n:]
		return v, ok
	}
	// emit starts a row at the current offset; length 0 means open.
	emit := func(length uint32) {
		at := base + offset
		if open >= 0 {
			r := &rows[open]
			if at > r.start {
				r.length = at - r.start
			}
		}
		rows = append(rows, annotRow{start: at, length: length, line: line, fileRef: fileRef})
		open = -1
		if length == 0 {
			open = len(rows) - 1
		}
	}
	for len(b) > 0 {
		op, ok := next()
		if !ok {
			return dropEmpty(rows, first), false
		}
		if op == baEnd {
			break
		}
		u, ok := next()
		if !ok {
			return dropEmpty(rows, first), false
		}
		switch op {
		case baCodeOffset:
			offset = u
			emit(0)
		case baChangeCodeOffsetBase:
			base = u
		case baChangeCodeOffset:
			offset += u
			emit(0)
		case baChangeCodeLength:
			if open >= 0 {
				rows[open].length = u
				open = -1
			}
			offset += u
		case baChangeFile:
			fileRef = u
		case baChangeLineOffset:
			line = uint32(int32(line) + decodeSigned(u))
		case baChangeCodeOffsetAndLineOffset:
			offset += u & 0xF
			line = uint32(int32(line) + decodeSigned(u>>4))
			emit(0)
		case baChangeCodeLengthAndCodeOffset:
			delta, ok := next()
			if !ok {
				return dropEmpty(rows, first), false
			}
			offset += delta
			emit(u)
		case baChangeLineEndDelta, baChangeColumnEndDelta,
			baChangeRangeKind, baChangeColumnStart, baChangeColumnEnd:
			// Columns, end lines and range kinds: not reported.
		default:
			return dropEmpty(rows, first), false
		}
	}
	// A row still open at the end has no known length: drop it.
	if open >= 0 {
		rows[open].length = 0
	}
	return dropEmpty(rows, first), true
}

// dropEmpty removes the zero-length rows from rows[first:].
func dropEmpty(rows []annotRow, first int) []annotRow {
	out := rows[:first]
	for _, r := range rows[first:] {
		if r.length != 0 {
			out = append(out, r)
		}
	}
	return out
}
