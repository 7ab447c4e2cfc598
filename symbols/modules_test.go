package symbols

import (
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// x86-full is built with -gcolumn-info: its line tables carry columns,
// which the reader must step over.
func TestLinesWithColumns(t *testing.T) {
	s := fixtureStreams(t, "x86-full")
	p := openFixture(t, "x86-full")
	m := p.Modules()[0]
	mod := s[m.Stream]
	withColumns := 0
	for at := int(m.symBytes + m.c11Bytes); at < int(m.symBytes+m.c11Bytes+m.c13Bytes); {
		kind := binary.LittleEndian.Uint32(mod[at:])
		n := int(binary.LittleEndian.Uint32(mod[at+4:]))
		if kind == debugSLines && binary.LittleEndian.Uint16(mod[at+8+6:])&linesHaveColumns != 0 {
			withColumns++
		}
		at += 8 + (n+3)&^3
	}
	require.Positive(t, withColumns)
	sym, ok := p.Lookup(0x1060)
	require.True(t, ok)
	assert.Equal(t, "SepCopyTokenBody+0x10", sym.String())
	assert.Equal(t, srcLine(t, "kern.c", "copy.loop"), sym.Line)
}

// Object files use S_GPROC32_ID/S_LPROC32_ID; linkers rewrite them, but
// the reader accepts both.
func TestProcIDKinds(t *testing.T) {
	want := allLookups(openFixture(t, "x64-full"), 0x5000)
	s := fixtureStreams(t, "x64-full")
	n := 0
	for _, m := range openFixture(t, "x64-full").Modules() {
		if m.Stream < 0 {
			continue
		}
		mod := s[m.Stream]
		for off := 4; off < int(m.symBytes); off += 2 + int(binary.LittleEndian.Uint16(mod[off:])) {
			switch binary.LittleEndian.Uint16(mod[off+2:]) {
			case sGProc32:
				binary.LittleEndian.PutUint16(mod[off+2:], sGProc32ID)
				n++
			case sLProc32:
				binary.LittleEndian.PutUint16(mod[off+2:], sLProc32ID)
				n++
			}
		}
	}
	require.Equal(t, 10, n)
	b, _ := testMSF{blockSize: 4096, streams: s}.write(t)
	assert.Equal(t, want, allLookups(openBytes(t, b), 0x5000))
}

// S_THUNK32 records (import and incremental-linking thunks) are code
// ranges too. One is added in the padding after ExAllocatePoolWithTag.
func TestThunk(t *testing.T) {
	s := fixtureStreams(t, "x64-full")
	p := openFixture(t, "x64-full")
	m := p.Modules()[0]
	name := "ImportThunk"
	rec := make([]byte, (thunkNameOff+len(name)+1+3)&^3)
	binary.LittleEndian.PutUint16(rec[0:], uint16(len(rec)-2))
	binary.LittleEndian.PutUint16(rec[2:], sThunk32)
	binary.LittleEndian.PutUint32(rec[16:], 0x26) // offset in .text
	binary.LittleEndian.PutUint16(rec[20:], 1)    // section
	binary.LittleEndian.PutUint16(rec[22:], 6)    // length
	copy(rec[thunkNameOff:], name)
	mod := s[m.Stream]
	at := int(m.symBytes)
	s[m.Stream] = append(append(append([]byte(nil), mod[:at]...), rec...), mod[at:]...)
	// Module 0's SymByteSize in the DBI module list.
	binary.LittleEndian.PutUint32(s[3][dbiHeaderSize+36:], m.symBytes+uint32(len(rec)))
	b, _ := testMSF{blockSize: 4096, streams: s}.write(t)
	q := openBytes(t, b)
	assert.Equal(t, p.NumProcedures()+1, q.NumProcedures())
	for _, c := range []struct {
		rva  uint32
		want string
		kind SymbolKind
	}{
		{0x1025, "ExAllocatePoolWithTag+0x25", Public},
		{0x1026, "ImportThunk+0x0", Procedure},
		{0x102b, "ImportThunk+0x5", Procedure},
		{0x102c, "ExAllocatePoolWithTag+0x2c", Public},
	} {
		sym, ok := q.Lookup(c.rva)
		require.True(t, ok)
		assert.Equal(t, c.want, sym.String())
		assert.Equal(t, c.kind, sym.Kind)
	}
}
