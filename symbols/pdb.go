package symbols

import (
	"fmt"
	"io"
	"iter"
	"os"
	"slices"
)

// PDB is a loaded PDB file: its identity, section headers, modules and
// the sorted symbol and line tables that Lookup searches. It holds no
// reference to the input it was loaded from. All methods are safe for
// concurrent use.
type PDB struct {
	guid      GUID
	infoAge   uint32
	signature uint32

	age       uint32 // DBI age
	machine   uint16
	dbiFlags  uint16
	blockSize uint32

	sections []Section // as in the image
	modules  []Module

	t tables
}

// OpenPDB reads a PDB 7.0 file of size bytes from r and builds its
// lookup tables. Corrupt input yields a *FormatError; an MSFZ
// (compressed) PDB, a PDB 2.0 file or a PDB without a DBI stream
// yields an *UnsupportedError. r is not used after OpenPDB returns.
func OpenPDB(r io.ReaderAt, size int64) (*PDB, error) {
	m, err := openMSF(r, size)
	if err != nil {
		return nil, err
	}
	if !m.present(infoStreamIndex) {
		return nil, &FormatError{Offset: -1, Stream: -1, Msg: "no PDB info stream (stream 1)"}
	}
	is, err := m.readStream(infoStreamIndex, "PDB info")
	if err != nil {
		return nil, err
	}
	info, err := parseInfo(is)
	if err != nil {
		return nil, err
	}
	if !m.present(dbiStreamIndex) {
		return nil, &UnsupportedError{Offset: 0, What: "PDB has no DBI stream (a type server PDB?)"}
	}
	ds, err := m.readStream(dbiStreamIndex, "DBI")
	if err != nil {
		return nil, err
	}
	dbi, err := parseDBI(ds)
	if err != nil {
		return nil, err
	}
	p := &PDB{
		guid:      info.guid,
		infoAge:   info.age,
		signature: info.signature,
		age:       dbi.age,
		machine:   dbi.machine,
		dbiFlags:  dbi.flags,
		blockSize: m.blockSize,
		modules:   dbi.modules,
	}

	// Section headers; under OMAP, symbols use the original ones.
	readOpt := func(slot int, what string) (*stream, error) {
		i := dbi.dbgStream(slot)
		if i < 0 || !m.present(i) {
			return nil, nil
		}
		return m.readStream(i, what)
	}
	if s, err := readOpt(dbgSectionHdr, "section headers"); err != nil {
		return nil, err
	} else if s != nil {
		if p.sections, err = parseSections(s); err != nil {
			return nil, err
		}
	}
	b := builder{nameBudget: m.size}
	// Inline ranges take 20 bytes each and a valid one at least 2 bytes
	// of annotations besides its site record; a file of n bytes may keep
	// n/8 of them.
	b.inl.budget = int(min(m.size/8, 1<<40))
	b.space = newAddrSpace(p.sections)
	if s, err := readOpt(dbgSectionHdrOrig, "original section headers"); err != nil {
		return nil, err
	} else if s != nil {
		orig, err := parseSections(s)
		if err != nil {
			return nil, err
		}
		b.space = newAddrSpace(orig)
	}
	if s, err := readOpt(dbgOmapToSrc, "OMAP to source"); err != nil {
		return nil, err
	} else if s != nil {
		if p.t.omapTo, err = parseOMAP(s); err != nil {
			return nil, err
		}
	}
	if s, err := readOpt(dbgOmapFromSrc, "OMAP from source"); err != nil {
		return nil, err
	} else if s != nil {
		if p.t.omapFro, err = parseOMAP(s); err != nil {
			return nil, err
		}
	}

	if err := b.loadPublics(m, dbi); err != nil {
		return nil, err
	}
	// FASTLINK module streams point into object files; treat such a PDB
	// as publics-only.
	if !info.hasFeature(featureMinimalDebugInfo) {
		if err := b.loadModules(m, dbi, info); err != nil {
			return nil, err
		}
	}
	// Inline site names: read last, and only when there are sites, so
	// that a damaged or missing IPI stream costs only the names.
	var ids *idStream
	if b.inl.nRanges > 0 && m.present(ipiStreamIndex) {
		if s, err := m.readStream(ipiStreamIndex, "IPI"); err == nil {
			ids = parseIPI(s)
		}
	}
	b.finishInlines(&p.t, ids)
	p.t.inlBad = b.inl.bad
	b.finish(&p.t)
	return p, nil
}

// OpenPDBFile opens the named file and loads it with OpenPDB. The file
// is closed before OpenPDBFile returns.
func OpenPDBFile(name string) (*PDB, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	p, err := OpenPDB(f, st.Size())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return p, nil
}

// GUID returns the GUID from the PDB info stream.
func (p *PDB) GUID() GUID { return p.guid }

// Age returns the DBI age: the age that an image's RSDS record carries
// when the PDB belongs to it.
func (p *PDB) Age() uint32 { return p.age }

// InfoAge returns the age in the PDB info stream. Tools that add source
// server data increment it, so it may exceed Age; do not match on it.
func (p *PDB) InfoAge() uint32 { return p.infoAge }

// Signature returns the 32-bit signature (a time stamp, or a hash under
// /Brepro) from the PDB info stream.
func (p *PDB) Signature() uint32 { return p.signature }

// Identity returns the GUID and the DBI age: the key that a matching
// image's RSDS record has, and that symbol stores file the PDB under.
func (p *PDB) Identity() Identity { return Identity{GUID: p.guid, Age: p.age} }

// Matches reports whether the PDB belongs to an image whose CodeView
// RSDS record holds guid and age.
func (p *PDB) Matches(guid GUID, age uint32) bool { return p.guid == guid && p.age == age }

// CheckIdentity returns an *IdentityMismatchError if the PDB does not
// belong to an image whose RSDS record holds guid and age.
func (p *PDB) CheckIdentity(guid GUID, age uint32) error {
	if p.Matches(guid, age) {
		return nil
	}
	return &IdentityMismatchError{Want: Identity{guid, age}, Got: p.Identity()}
}

// Machine returns the DBI machine type (IMAGE_FILE_MACHINE_*: 0x8664
// x64, 0x14C x86, 0xAA64 ARM64).
func (p *PDB) Machine() uint16 { return p.machine }

// Stripped reports whether the DBI header says private symbols were
// stripped (pdbcopy /p, link /PDBSTRIPPED). A PDB built without private
// symbols may have no module streams without saying so.
func (p *PDB) Stripped() bool { return p.dbiFlags&dbiFlagStripped != 0 }

// BlockSize returns the MSF block size.
func (p *PDB) BlockSize() int { return int(p.blockSize) }

// HasOMAP reports whether the PDB maps addresses through OMAP tables
// (post-link rewritten image).
func (p *PDB) HasOMAP() bool { return p.t.omapTo != nil || p.t.omapFro != nil }

// HasLines reports whether the PDB has C13 line information.
func (p *PDB) HasLines() bool { return len(p.t.lines) > 0 }

// Sections returns the image's section headers as recorded in the PDB.
func (p *PDB) Sections() []Section { return slices.Clone(p.sections) }

// Modules returns the DBI module list.
func (p *PDB) Modules() []Module { return slices.Clone(p.modules) }

// NumPublics returns the number of public symbols.
func (p *PDB) NumPublics() int { return len(p.t.pubs) }

// NumProcedures returns the number of procedures (and thunks) read from
// module streams.
func (p *PDB) NumProcedures() int { return len(p.t.procs) }

// Publics returns the public symbols in address order. Offset is 0;
// File and Line give the symbol's own start when known.
func (p *PDB) Publics() iter.Seq[Symbol] {
	return func(yield func(Symbol) bool) {
		for i := range p.t.pubs {
			pb := &p.t.pubs[i]
			if !yield(p.t.symbol(Public, pb.name, pb.start, 0)) {
				return
			}
		}
	}
}

// Procedures returns the procedures from module streams in address
// order, including static functions that have no public.
func (p *PDB) Procedures() iter.Seq[Symbol] {
	return func(yield func(Symbol) bool) {
		for i := range p.t.procs {
			pr := &p.t.procs[i]
			if !yield(p.t.symbol(Procedure, pr.name, pr.start, pr.size)) {
				return
			}
		}
	}
}

// symbol builds the Symbol for a table entry that starts at start in
// the symbol address space.
func (t *tables) symbol(kind SymbolKind, name strRef, start, size uint32) Symbol {
	s := Symbol{Name: t.names[name.off : name.off+name.n], Kind: kind, RVA: start, Size: size}
	if t.omapFro != nil {
		if v, ok := t.omapFro.translate(start); ok {
			s.RVA = v
		}
	}
	if i := searchLines(t.lines, start); i >= 0 && t.lines[i].line != 0 {
		s.File, s.Line = t.files[t.lines[i].file], int(t.lines[i].line)
	}
	return s
}
