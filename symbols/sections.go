package symbols

import (
	"cmp"
	"encoding/binary"
	"slices"
)

// Section headers (IMAGE_SECTION_HEADER records) from the stream named
// in the DBI optional debug header; they turn the (segment, offset)
// pairs of symbol records into RVAs.

const sectionHeaderSize = 40

// IMAGE_SCN_MEM_EXECUTE
const sectionExecute = 0x20000000

// Section is one image section header as stored in the PDB.
type Section struct {
	Name            string // up to 8 bytes, e.g. ".text", "PAGE"
	VirtualSize     uint32
	VirtualAddress  uint32 // RVA of the section's start
	Characteristics uint32 // IMAGE_SCN_* flags
}

// Executable reports whether the section holds code (IMAGE_SCN_MEM_EXECUTE).
func (s Section) Executable() bool { return s.Characteristics&sectionExecute != 0 }

func parseSections(s *stream) ([]Section, error) {
	d := s.data
	if len(d)%sectionHeaderSize != 0 {
		return nil, s.errorf(len(d)-len(d)%sectionHeaderSize, "section header stream of %d bytes is not a whole number of %d-byte headers", len(d), sectionHeaderSize)
	}
	secs := make([]Section, len(d)/sectionHeaderSize)
	for i := range secs {
		h := d[i*sectionHeaderSize:]
		name, _ := cstring(h[:8])
		vsize := binary.LittleEndian.Uint32(h[8:])
		if vsize == 0 {
			vsize = binary.LittleEndian.Uint32(h[16:]) // SizeOfRawData
		}
		secs[i] = Section{
			Name:            string(name),
			VirtualSize:     vsize,
			VirtualAddress:  binary.LittleEndian.Uint32(h[12:]),
			Characteristics: binary.LittleEndian.Uint32(h[36:]),
		}
	}
	return secs, nil
}

// addrSpace converts segment:offset pairs to RVAs with one set of
// section headers and tells which section an RVA falls into.
type addrSpace struct {
	secs   []Section
	ranges []secRange // sorted by start
}

type secRange struct{ start, end uint32 } // [start, end)

func newAddrSpace(secs []Section) addrSpace {
	a := addrSpace{secs: secs}
	for _, s := range secs {
		end := uint64(s.VirtualAddress) + uint64(s.VirtualSize)
		if s.VirtualSize == 0 || end > 1<<32 {
			continue
		}
		a.ranges = append(a.ranges, secRange{s.VirtualAddress, uint32(end)})
	}
	slices.SortFunc(a.ranges, func(x, y secRange) int { return cmp.Compare(x.start, y.start) })
	return a
}

// rva returns the RVA of seg:off (seg is 1-based), and false for
// segment 0 (absolute symbols), unknown segments and overflow.
func (a *addrSpace) rva(seg uint16, off uint32) (uint32, bool) {
	if seg == 0 || int(seg) > len(a.secs) {
		return 0, false
	}
	v := uint64(a.secs[seg-1].VirtualAddress) + uint64(off)
	if v >= 1<<32 {
		return 0, false
	}
	return uint32(v), true
}

// sectionStart returns the start of the section that contains rva.
func (a *addrSpace) sectionStart(rva uint32) (uint32, bool) {
	r := a.ranges
	lo, hi := 0, len(r)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if r[m].start <= rva {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo == 0 || rva >= r[lo-1].end {
		return 0, false
	}
	return r[lo-1].start, true
}
