package symbols

import (
	"encoding/binary"
)

// Public symbols: S_PUB32 records in the symbol record stream, listed
// in address order by the address map of the public symbol index (PSI)
// stream. This is all that Microsoft's public PDBs offer for code.

const psiHeaderSize = 28

type pub struct {
	start uint32 // RVA in the symbol address space
	name  strRef
	flags uint32
}

// loadPublics reads the public symbols into b.pubs.
func (b *builder) loadPublics(m *msf, dbi *dbiStream) error {
	if !m.present(int(dbi.symRecStream)) || dbi.symRecStream == noStream {
		return nil
	}
	recs, err := m.readStream(int(dbi.symRecStream), "symbol records")
	if err != nil {
		return err
	}
	if !m.present(int(dbi.publicsStream)) || dbi.publicsStream == noStream {
		// No index: every S_PUB32 in the record stream.
		for off := 0; off < len(recs.data); {
			r, err := recordAt(recs, off, len(recs.data))
			if err != nil {
				return err
			}
			if r.kind == sPub32 {
				if err := b.addPublic(recs, r); err != nil {
					return err
				}
			}
			off += len(r.b)
		}
		return nil
	}
	psi, err := m.readStream(int(dbi.publicsStream), "public symbol index")
	if err != nil {
		return err
	}
	d := psi.data
	if len(d) < psiHeaderSize {
		return psi.errorf(len(d), "public symbol index is %d bytes, need at least %d", len(d), psiHeaderSize)
	}
	hashBytes := binary.LittleEndian.Uint32(d[0:])
	mapBytes := binary.LittleEndian.Uint32(d[4:])
	if uint64(hashBytes)+uint64(mapBytes) > uint64(len(d)-psiHeaderSize) {
		return psi.errorf(0, "name table (%d bytes) and address map (%d bytes) overrun the %d-byte stream", hashBytes, mapBytes, len(d))
	}
	if mapBytes%4 != 0 {
		return psi.errorf(4, "address map size %d is not a multiple of 4", mapBytes)
	}
	mapOff := psiHeaderSize + int(hashBytes)
	addrMap := d[mapOff : mapOff+int(mapBytes)]
	b.pubs = make([]pub, 0, len(addrMap)/4)
	// A valid address map lists each record once. A map that lists one
	// record many times would copy its name each time; skip repeats.
	seen := make([]uint64, (len(recs.data)+63)/64)
	for i := 0; i < len(addrMap); i += 4 {
		off := binary.LittleEndian.Uint32(addrMap[i:])
		if uint64(off) >= uint64(len(recs.data)) {
			return psi.errorf(mapOff+i, "address map entry %d points at %#x, past the %d-byte symbol record stream", i/4, off, len(recs.data))
		}
		w, bit := off/64, uint64(1)<<(off%64)
		if seen[w]&bit != 0 {
			continue
		}
		seen[w] |= bit
		r, err := recordAt(recs, int(off), len(recs.data))
		if err != nil {
			return err
		}
		if r.kind != sPub32 {
			continue // not a public; tolerate, as readers of the hash do
		}
		if err := b.addPublic(recs, r); err != nil {
			return err
		}
	}
	return nil
}

// addPublic adds one S_PUB32 record.
func (b *builder) addPublic(s *stream, r record) error {
	name, err := r.name(s, pubNameOffset)
	if err != nil {
		return err
	}
	flags, off, seg := r.u32(4), r.u32(8), r.u16(12)
	start, ok := b.space.rva(seg, off)
	if !ok {
		return nil // absolute or in a section this PDB does not describe
	}
	ref, err := b.intern(s, name)
	if err != nil {
		return err
	}
	b.pubs = append(b.pubs, pub{start: start, name: ref, flags: flags})
	return nil
}
