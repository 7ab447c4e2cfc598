package symbols

import "encoding/binary"

// The IPI stream (stream 4) holds the id records that name inlinees:
// LF_FUNC_ID for free functions and LF_MFUNC_ID for member functions.
// It has the layout of the TPI stream: a header, then records of a u16
// length and a u16 kind, numbered consecutively from typeIndexBegin.
// The hash stream that would index them is not read: walking the
// records is cheap and does not trust a second table.

const (
	ipiStreamIndex = 4
	tpiHeaderMin   = 56 // version .. hash adjuster buffer
	lfFuncID       = 0x1601
	lfMFuncID      = 0x1602
	lfStringID     = 0x1605
	funcIDNameAt   = 12 // after u16 len, u16 kind, two u32 fields
	stringIDNameAt = 8  // after u16 len, u16 kind, u32 id
)

// idStream is the walked IPI stream: the offset of each record, by
// type index minus begin.
type idStream struct {
	data  []byte
	begin uint32
	offs  []uint32
}

// parseIPI indexes the records of the IPI stream. A damaged stream is
// not an error for the PDB: the records before the damage are kept, and
// inline frames whose names are past it get a placeholder name.
func parseIPI(s *stream) *idStream {
	d := s.data
	if len(d) < tpiHeaderMin {
		return nil
	}
	hdrSize := binary.LittleEndian.Uint32(d[4:])
	begin := binary.LittleEndian.Uint32(d[8:])
	end := binary.LittleEndian.Uint32(d[12:])
	recBytes := binary.LittleEndian.Uint32(d[16:])
	if hdrSize < tpiHeaderMin || uint64(hdrSize)+uint64(recBytes) > uint64(len(d)) || end < begin {
		return nil
	}
	ids := &idStream{data: d[hdrSize : hdrSize+recBytes], begin: begin}
	// Every record takes at least 4 bytes, so the count claimed by the
	// header cannot size the table beyond a quarter of the records.
	n := min(uint64(end-begin), uint64(recBytes)/4)
	ids.offs = make([]uint32, 0, n)
	for p := uint64(0); p+4 <= uint64(len(ids.data)) && uint64(len(ids.offs)) < n; {
		l := uint64(binary.LittleEndian.Uint16(ids.data[p:]))
		if l < 2 || p+2+l > uint64(len(ids.data)) {
			break
		}
		ids.offs = append(ids.offs, uint32(p))
		p += 2 + l
	}
	return ids
}

// record returns the kind and bytes (including the 4-byte prefix) of
// the record with type index ti.
func (ids *idStream) record(ti uint32) (uint16, []byte, bool) {
	if ids == nil || ti < ids.begin || uint64(ti-ids.begin) >= uint64(len(ids.offs)) {
		return 0, nil, false
	}
	p := ids.offs[ti-ids.begin]
	l := uint32(binary.LittleEndian.Uint16(ids.data[p:]))
	r := ids.data[p : p+2+l]
	return binary.LittleEndian.Uint16(r[2:]), r, true
}

// funcName returns the name of the LF_FUNC_ID or LF_MFUNC_ID record ti
// and, for an LF_FUNC_ID whose scope is an LF_STRING_ID (a namespace),
// that scope's name. LF_MFUNC_ID names are unqualified: the class would
// come from the TPI stream, which is not read.
func (ids *idStream) funcName(ti uint32) (scope, name []byte, ok bool) {
	kind, r, ok := ids.record(ti)
	if !ok || (kind != lfFuncID && kind != lfMFuncID) || len(r) < funcIDNameAt {
		return nil, nil, false
	}
	name, ok = cstring(r[funcIDNameAt:])
	if !ok {
		return nil, nil, false
	}
	if kind == lfFuncID {
		if sk, sr, ok := ids.record(binary.LittleEndian.Uint32(r[4:])); ok && sk == lfStringID && len(sr) >= stringIDNameAt {
			if s, ok := cstring(sr[stringIDNameAt:]); ok && len(s) > 0 {
				scope = s
			}
		}
	}
	return scope, name, true
}
