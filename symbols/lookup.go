package symbols

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
)

// SymbolKind says where a Symbol came from.
type SymbolKind uint8

const (
	// Procedure: a function's exact range from private symbols
	// (S_GPROC32, S_LPROC32 and their _ID variants) or a thunk
	// (S_THUNK32). Names are undecorated ("Se::TokenCache::Lookup").
	Procedure SymbolKind = iota + 1
	// Public: a public symbol (S_PUB32). Its size is unknown, so a lookup
	// that falls back to a public reports the nearest lower one in the
	// same section, as WinDbg does. Names are the linker's, decorated for
	// C++ and x86 calling conventions ("?Lookup@TokenCache@Se@@SAHH@Z",
	// "_ExAllocatePoolWithTag@12").
	Public
	// Inlined: a function inlined into a procedure, from the procedure's
	// S_INLINESITE records; returned by LookupInlined only. Names are
	// undecorated.
	Inlined
)

func (k SymbolKind) String() string {
	switch k {
	case Procedure:
		return "procedure"
	case Public:
		return "public"
	case Inlined:
		return "inlined"
	}
	return "unknown"
}

// Symbol is the answer to a lookup: a named address range and where in
// it the looked-up address lies.
type Symbol struct {
	Name string
	Kind SymbolKind
	// RVA is the symbol's start, relative to the image base.
	RVA uint32
	// Size is the procedure's code length; 0 for publics. For inlined
	// frames it is the length of the inline site's range that holds the
	// address.
	Size uint32
	// Offset is the looked-up address minus the symbol's start, as in
	// "Name+0x1a3". (Under OMAP it is counted in the original layout.)
	Offset uint32
	// File and Line give the source position of the looked-up address
	// when the PDB has line information for it; otherwise "" and 0.
	File string
	Line int
}

// String returns "Name+0xOFFSET", the form debuggers print.
func (s Symbol) String() string {
	return s.Name + "+0x" + strconv.FormatUint(uint64(s.Offset), 16)
}

// strRef is a name in the PDB's string arena.
type strRef struct{ off, n uint32 }

// builder accumulates tables while a PDB is loaded.
type builder struct {
	space   addrSpace // symbol address space (original headers under OMAP)
	arena   []byte
	pubs    []pub
	procs   []proc
	lines   []lineRow
	files   []string
	fileIdx map[uint32]uint32 // /names offset -> files index
	inl     inlineState

	// nameBudget is how many more name bytes may be copied into arena.
	// open sets it to the file size: every name is copied from a
	// distinct record of a stream, and the streams of a valid file add up
	// to less than the file, so only a malformed file runs out.
	nameBudget int64
}

// maxArena is the largest arena a strRef can index.
const maxArena = 1<<32 - 1

// intern copies name into the arena. s is the stream the name was read
// from, for errors.
func (b *builder) intern(s *stream, name []byte) (strRef, error) {
	n := int64(len(name))
	if n > b.nameBudget || int64(len(b.arena))+n > maxArena {
		return strRef{}, &FormatError{Offset: -1, Stream: s.idx, StreamName: s.name,
			Msg: "symbol names add up to more than the file size (records listed more than once)"}
	}
	b.nameBudget -= n
	r := strRef{uint32(len(b.arena)), uint32(len(name))}
	b.arena = append(b.arena, name...)
	return r, nil
}

// tables are the sorted lookup tables of a loaded PDB.
type tables struct {
	names string // the arena; strRefs index it
	files []string

	procs    []proc // all procedures, sorted by start then size (longest first)
	procLook []proc // one per start address, for lookups
	pubs     []pub  // all publics, sorted by start then name
	pubLook  []pub  // one per start address, for lookups
	lines    []lineRow
	space    addrSpace
	omapTo   omap // image RVA -> symbol space, when present
	omapFro  omap // symbol space -> image RVA, when present

	inl      []inlRange // inline ranges, sorted by depth then start
	inlDepth []uint32   // inl[inlDepth[d]:inlDepth[d+1]] are at depth d
	inlNames []strRef   // per inline site
	inlBad   int        // inline sites or ranges skipped as malformed
}

func (b *builder) finish(t *tables) {
	t.names = string(b.arena)
	b.arena = nil
	t.files = b.files
	t.space = b.space
	name := func(r strRef) string { return t.names[r.off : r.off+r.n] }

	// Procedures: by start; for one start keep the longest, then the
	// first in module order (identical code folding puts several
	// functions at one address).
	slices.SortStableFunc(b.procs, func(x, y proc) int {
		if c := cmp.Compare(x.start, y.start); c != 0 {
			return c
		}
		return cmp.Compare(y.size, x.size)
	})
	t.procs = b.procs
	t.procLook = slices.CompactFunc(slices.Clone(b.procs), func(x, y proc) bool { return x.start == y.start })

	// Publics: by start, then prefer functions, then by name, so that the
	// first of a group is the one lookups report.
	slices.SortStableFunc(b.pubs, func(x, y pub) int {
		if c := cmp.Compare(x.start, y.start); c != 0 {
			return c
		}
		if c := cmp.Compare(y.flags&pubFlagFunction, x.flags&pubFlagFunction); c != 0 {
			return c
		}
		return strings.Compare(name(x.name), name(y.name))
	})
	t.pubs = b.pubs
	t.pubLook = slices.CompactFunc(slices.Clone(b.pubs), func(x, y pub) bool { return x.start == y.start })

	// Lines: by address; at one address a real row wins over an end
	// marker, and the first real row (in file order) over later ones.
	slices.SortStableFunc(b.lines, func(x, y lineRow) int { return cmp.Compare(x.rva, y.rva) })
	out := b.lines[:0]
	for i := 0; i < len(b.lines); {
		j, pick := i, i
		for j < len(b.lines) && b.lines[j].rva == b.lines[i].rva {
			if b.lines[pick].line == 0 && b.lines[j].line != 0 {
				pick = j
			}
			j++
		}
		out = append(out, b.lines[pick])
		i = j
	}
	t.lines = slices.Clip(out)
}

// Lookup returns the symbol that contains rva, an address relative to
// the image base: the procedure whose range contains it when the PDB
// has private symbols for it, else the nearest public at or below it in
// the same section. It reports false for addresses outside every
// section that no procedure covers. Lookup does not allocate.
//
// For return addresses taken from a stack, look up rva-1 to get the
// line of the call rather than of the next statement. The functions
// inlined at rva, which run inside the procedure's range, come from
// LookupInlined.
func (p *PDB) Lookup(rva uint32) (Symbol, bool) {
	t := &p.t
	x := rva
	if t.omapTo != nil {
		var ok bool
		if x, ok = t.omapTo.translate(rva); !ok {
			return Symbol{}, false
		}
	}
	var sym Symbol
	if i := searchProcs(t.procLook, x); i >= 0 && x-t.procLook[i].start < t.procLook[i].size {
		pr := &t.procLook[i]
		sym = Symbol{Name: t.names[pr.name.off : pr.name.off+pr.name.n], Kind: Procedure,
			RVA: pr.start, Size: pr.size, Offset: x - pr.start}
	} else {
		secStart, ok := t.space.sectionStart(x)
		if !ok {
			return Symbol{}, false
		}
		i := searchPubs(t.pubLook, x)
		if i < 0 || t.pubLook[i].start < secStart {
			return Symbol{}, false
		}
		pb := &t.pubLook[i]
		sym = Symbol{Name: t.names[pb.name.off : pb.name.off+pb.name.n], Kind: Public,
			RVA: pb.start, Offset: x - pb.start}
	}
	if t.omapFro != nil {
		if v, ok := t.omapFro.translate(sym.RVA); ok {
			sym.RVA = v
		}
	}
	if i := searchLines(t.lines, x); i >= 0 && t.lines[i].line != 0 {
		sym.File = t.files[t.lines[i].file]
		sym.Line = int(t.lines[i].line)
	}
	return sym, true
}

// The searches return the index of the last entry whose start is <= x,
// or -1. They are written out per type to stay allocation- and
// indirection-free.

func searchProcs(a []proc, x uint32) int {
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

func searchPubs(a []pub, x uint32) int {
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

func searchLines(a []lineRow, x uint32) int {
	lo, hi := 0, len(a)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if a[m].rva <= x {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo - 1
}
