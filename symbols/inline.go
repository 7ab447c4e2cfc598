package symbols

import (
	"cmp"
	"encoding/binary"
	"slices"
	"strconv"
)

// Inline frames. An optimized procedure's module stream nests
// S_INLINESITE records (one per inlined call) between the procedure and
// its S_END; each holds the inlinee's IPI id and binary annotations that
// give its code ranges and lines. The inlinee's first line and file are
// in the module's DEBUG_S_INLINEELINES subsection; its name is in the
// IPI stream. Inline data is decoded leniently: a damaged site is
// skipped and counted, and never fails opening the PDB.

const (
	sInlineSite    = 0x114D
	sInlineSite2   = 0x115D
	sInlineSiteEnd = 0x114E

	inlineSiteAnnotAt  = 16 // u16 len, u16 kind, parent, end, inlinee
	inlineSite2AnnotAt = 20 // ... and an invocation count

	debugSInlineeLines = 0xF6
	inlineeSigPlain    = 0
	inlineeSigExtra    = 1

	// maxInlineDepth bounds the nesting of inline sites that are kept;
	// deeper sites (and everything inside them) are skipped.
	maxInlineDepth = 64
)

// pendingSite is an inline site seen while walking a module's symbols,
// decoded once the module's inlinee lines are known.
type pendingSite struct {
	procStart, procSize uint32
	depth               uint8 // 0 for a site directly in the procedure
	inlinee             uint32
	annot               []byte // into the module stream
	at                  int    // stream offset of the annotations
}

// inlRange is one code range of an inline site, in the symbol address
// space, with the line in the inlinee that the range is at.
type inlRange struct {
	start, end uint32
	line       uint32
	file       uint32 // index into files, or noFile
	site       uint32 // index into the site names; depth in the top 8 bits
}

const siteBits = 24

func (r *inlRange) depth() int      { return int(r.site >> siteBits) }
func (r *inlRange) siteIdx() uint32 { return r.site & (1<<siteBits - 1) }

// inlineState collects inline sites while a PDB is loaded.
type inlineState struct {
	pending  []pendingSite        // of the module being read
	chunks   [][]inlRange         // decoded ranges, one exactly sized chunk per module
	nRanges  int                  // in chunks
	budget   int                  // ranges that may still be added
	inlinees []uint32             // per site: IPI id
	rows     []annotRow           // scratch for one site
	inlinee  map[uint32][2]uint32 // of the module being read: id -> {fileRef, line}
	// bad counts inline sites (or ranges) skipped as malformed.
	bad int
}

// inlineSite handles an S_INLINESITE or S_INLINESITE2 record at the
// given nesting depth (1 for a site directly in the procedure) of the
// procedure cur, if cur is valid.
func (b *builder) inlineSite(r record, depth int, cur *proc, curOK bool) {
	if !curOK || depth > maxInlineDepth {
		return
	}
	at := inlineSiteAnnotAt
	if r.kind == sInlineSite2 {
		at = inlineSite2AnnotAt
	}
	if len(r.b) < at {
		b.inl.bad++
		return
	}
	b.inl.pending = append(b.inl.pending, pendingSite{
		procStart: cur.start, procSize: cur.size, depth: uint8(depth - 1),
		inlinee: r.u32(12), annot: r.b[at:], at: r.off + at,
	})
}

// addInlines decodes the module's pending inline sites. off and end
// delimit its C13 subsections; names is nil when lines cannot be named.
func (b *builder) addInlines(s *stream, off, end int, names *stringTable) {
	in := &b.inl
	if len(in.pending) == 0 {
		return
	}
	defer func() { in.pending = in.pending[:0] }()
	var chk []byte
	clear(in.inlinee)
	// Damaged subsections were reported by addLines when lines were
	// read; here they only end the walk.
	_ = walkSubsections(s, off, end, func(kind uint32, _ int, body []byte) error {
		switch kind {
		case debugSFileChecksums:
			if chk == nil {
				chk = body
			}
		case debugSInlineeLines:
			b.inlineeLines(body)
		}
		return nil
	})
	if names == nil {
		chk = nil
	}
	// Two passes: count, then fill an exactly sized chunk, so that the
	// ranges cost no more than they hold. Decoding twice is cheaper than
	// keeping every row of the module in a growing scratch slice, which
	// one-byte ranges make twice the size (TestOpenInlineRangesBounded).
	n := 0
	for i := range in.pending {
		n += len(b.siteRows(&in.pending[i]))
	}
	n = min(n, in.budget)
	if n == 0 {
		in.bad += len(in.pending)
		return
	}
	chunk := make([]inlRange, 0, n)
	for i := range in.pending {
		ps := &in.pending[i]
		rows := b.siteRows(ps)
		if len(rows) == 0 || len(chunk)+len(rows) > cap(chunk) || len(in.inlinees) >= 1<<siteBits {
			in.bad++
			continue
		}
		site := uint32(len(in.inlinees)) | uint32(ps.depth)<<siteBits
		in.inlinees = append(in.inlinees, ps.inlinee)
		for _, r := range rows {
			file := noFile
			line := r.line
			if line == lineHidden || line == lineHidden2 {
				line = 0
			}
			if line != 0 && chk != nil {
				file = b.inlineFile(s, chk, r.fileRef, names)
			}
			if file == noFile {
				line = 0
			}
			chunk = append(chunk, inlRange{start: ps.procStart + r.start, end: ps.procStart + r.start + r.length,
				line: line, file: file, site: site})
		}
	}
	in.budget -= len(chunk)
	in.nRanges += len(chunk)
	in.chunks = append(in.chunks, chunk)
}

// inlineFile returns the file table index for a checksum entry named by
// an inline site, or noFile. Unlike fileFor it builds no error for a bad
// reference: annotations can name one per two bytes.
func (b *builder) inlineFile(s *stream, chk []byte, ref uint32, names *stringTable) uint32 {
	if uint64(ref)+6 > uint64(len(chk)) || !names.has(binary.LittleEndian.Uint32(chk[ref:])) {
		return noFile
	}
	f, err := b.fileFor(s, chk, ref, names, 0)
	if err != nil {
		return noFile
	}
	return f
}

// siteRows decodes a pending site's annotations into the scratch rows,
// keeping those inside its procedure. A malformed program keeps no rows.
func (b *builder) siteRows(ps *pendingSite) []annotRow {
	in := &b.inl
	src, known := in.inlinee[ps.inlinee]
	line, fileRef := src[1], src[0]
	rows, ok := decodeAnnotations(ps.annot, line, fileRef, in.rows[:0])
	in.rows = rows[:0]
	if !ok {
		return nil
	}
	out := rows[:0]
	for _, r := range rows {
		if uint64(r.start)+uint64(r.length) > uint64(ps.procSize) {
			continue
		}
		if !known {
			r.line = 0
		}
		out = append(out, r)
	}
	return out
}

// inlineeLines records the starting file and line of each inlinee in a
// DEBUG_S_INLINEELINES subsection body. A damaged body is ignored from
// the damage on.
func (b *builder) inlineeLines(body []byte) {
	if len(body) < 4 {
		return
	}
	sig := binary.LittleEndian.Uint32(body)
	if sig != inlineeSigPlain && sig != inlineeSigExtra {
		return
	}
	if b.inl.inlinee == nil {
		b.inl.inlinee = make(map[uint32][2]uint32)
	}
	for p := 4; len(body)-p >= 12; {
		id := binary.LittleEndian.Uint32(body[p:])
		ref := binary.LittleEndian.Uint32(body[p+4:])
		line := binary.LittleEndian.Uint32(body[p+8:])
		p += 12
		if sig == inlineeSigExtra {
			if len(body)-p < 4 {
				return
			}
			extra := uint64(binary.LittleEndian.Uint32(body[p:]))
			if extra*4 > uint64(len(body)-p-4) {
				return
			}
			p += 4 + int(extra)*4
		}
		if _, dup := b.inl.inlinee[id]; !dup {
			b.inl.inlinee[id] = [2]uint32{ref, line}
		}
	}
}

// finishInlines sorts the ranges by depth and start, names the sites
// from the IPI stream (nil if absent or unreadable) and fills t.
func (b *builder) finishInlines(t *tables, ids *idStream) {
	in := &b.inl
	if in.nRanges == 0 {
		return
	}
	all := make([]inlRange, 0, in.nRanges)
	for _, c := range in.chunks {
		all = append(all, c...)
	}
	in.chunks = nil
	slices.SortStableFunc(all, func(x, y inlRange) int {
		if c := cmp.Compare(x.depth(), y.depth()); c != 0 {
			return c
		}
		return cmp.Compare(x.start, y.start)
	})
	// Identical code folding can list the same sites twice: keep one
	// range per depth and start.
	all = slices.CompactFunc(all, func(x, y inlRange) bool { return x.depth() == y.depth() && x.start == y.start })
	t.inl = slices.Clip(all)
	maxDepth := t.inl[len(t.inl)-1].depth()
	t.inlDepth = make([]uint32, maxDepth+2)
	d := 0
	for i := range t.inl {
		for d <= t.inl[i].depth() {
			t.inlDepth[d] = uint32(i)
			d++
		}
	}
	t.inlDepth[maxDepth+1] = uint32(len(t.inl))

	// Names: one per distinct inlinee.
	t.inlNames = make([]strRef, len(in.inlinees))
	byID := make(map[uint32]strRef)
	var buf []byte
	for i, id := range in.inlinees {
		ref, ok := byID[id]
		if !ok {
			buf = buf[:0]
			if scope, name, ok := ids.funcName(id); ok {
				if len(scope) > 0 {
					buf = append(append(buf, scope...), "::"...)
				}
				buf = append(buf, name...)
			}
			if len(buf) == 0 || int64(len(buf)) > b.nameBudget || int64(len(b.arena))+int64(len(buf)) > maxArena {
				// No name in the IPI stream: say which id it was.
				buf = strconv.AppendUint(append(buf[:0], "inlinee 0x"...), uint64(id), 16)
			} else {
				b.nameBudget -= int64(len(buf))
			}
			ref = strRef{uint32(len(b.arena)), uint32(len(buf))}
			b.arena = append(b.arena, buf...)
			byID[id] = ref
		}
		t.inlNames[i] = ref
	}
	in.inlinees = nil
}

// LookupInlined appends to dst the functions inlined at rva, innermost
// first, and returns the extended slice; it appends nothing where no
// inlined code is. With a dst of enough capacity it does not allocate.
// Together with Lookup's frame, appended last, the result is in the
// order of a pprof Location's lines (callee first).
//
// Each appended Symbol has Kind Inlined and names the inlinee (from the
// IPI stream: LF_FUNC_ID names, with a namespace scope as "Ns::F";
// LF_MFUNC_ID method names are unqualified; "inlinee 0xID" when the IPI
// stream lacks the id). RVA and Size are the code range of that
// inlinee's site that holds rva, Offset is rva minus its start, and File
// and Line are where execution is in that function: for the innermost,
// the line at rva; for each further one, the line that calls the one
// before it. For H inlined in G inlined in F, the result is [H at its
// line, G at the line that calls H]. Line is 0 where the module has no
// inlinee line for the site.
//
// The outermost frame, F, is Lookup's. Its File and Line come from the
// procedure's own line table, the only place that could hold the line
// in F that calls G: clang 14 records no rows there for inlined code
// (see the x64-inline fixture), so Lookup then reports the nearest row
// before rva, or no line. MSVC's tables are not covered by a fixture.
//
// Under OMAP the address is translated as Lookup does (Microsoft's OMAP
// PDBs have no module streams, so no inline sites). For a return
// address, look up rva-1, as with Lookup.
func (p *PDB) LookupInlined(rva uint32, dst []Symbol) []Symbol {
	t := &p.t
	if len(t.inl) == 0 {
		return dst
	}
	x := rva
	if t.omapTo != nil {
		var ok bool
		if x, ok = t.omapTo.translate(rva); !ok {
			return dst
		}
	}
	n0 := len(dst)
	for d := 0; d+1 < len(t.inlDepth); d++ {
		a := t.inl[t.inlDepth[d]:t.inlDepth[d+1]]
		i := searchInl(a, x)
		if i < 0 || x >= a[i].end {
			break
		}
		r := &a[i]
		ref := t.inlNames[r.siteIdx()]
		s := Symbol{Name: t.names[ref.off : ref.off+ref.n], Kind: Inlined,
			RVA: r.start, Size: r.end - r.start, Offset: x - r.start}
		if r.file != noFile {
			s.File, s.Line = t.files[r.file], int(r.line)
		}
		if t.omapFro != nil {
			if v, ok := t.omapFro.translate(s.RVA); ok {
				s.RVA = v
			}
		}
		dst = append(dst, s)
	}
	slices.Reverse(dst[n0:])
	return dst
}

// HasInlineSites reports whether the PDB describes inlined code.
func (p *PDB) HasInlineSites() bool { return len(p.t.inl) > 0 }

// InlineSitesSkipped returns how many inline sites or ranges were
// skipped while loading because their records or annotations were
// malformed (or too many to keep).
func (p *PDB) InlineSitesSkipped() int { return p.t.inlBad }

func searchInl(a []inlRange, x uint32) int {
	lo, hi := 0, len(a)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if a[m].start <= x {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo - 1
}
