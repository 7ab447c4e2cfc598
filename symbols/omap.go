package symbols

import (
	"cmp"
	"encoding/binary"
	"slices"
)

// OMAP tables map addresses between the layout the linker produced (the
// "source" layout that symbol records describe) and the layout of the
// image after post-link rewriting (BBT and friends). A PDB that has them
// also has the original section headers; symbol addresses are computed
// with those and then mapped.

type omapEntry struct{ from, to uint32 }

// omap is a table sorted by from. The zero value maps nothing and is
// not used: callers check len first.
type omap []omapEntry

func parseOMAP(s *stream) (omap, error) {
	d := s.data
	if len(d)%8 != 0 {
		return nil, s.errorf(len(d)-len(d)%8, "OMAP stream of %d bytes is not a whole number of 8-byte entries", len(d))
	}
	t := make(omap, len(d)/8)
	for i := range t {
		t[i] = omapEntry{binary.LittleEndian.Uint32(d[8*i:]), binary.LittleEndian.Uint32(d[8*i+4:])}
	}
	// Writers emit the table sorted; make sure, since lookups depend on it.
	if !slices.IsSortedFunc(t, cmpOMAP) {
		slices.SortStableFunc(t, cmpOMAP)
	}
	return t, nil
}

func cmpOMAP(a, b omapEntry) int { return cmp.Compare(a.from, b.from) }

// translate maps x through the table: the last entry with from <= x
// gives to + (x - from); an entry whose to is 0 marks addresses that
// have no counterpart, as does an x below the first entry.
func (t omap) translate(x uint32) (uint32, bool) {
	lo, hi := 0, len(t)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if t[m].from <= x {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo == 0 {
		return 0, false
	}
	e := t[lo-1]
	if e.to == 0 {
		return 0, false
	}
	v := uint64(e.to) + uint64(x-e.from)
	if v >= 1<<32 {
		return 0, false
	}
	return uint32(v), true
}
