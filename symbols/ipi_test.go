package symbols

import (
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// ipiBytes builds an IPI stream whose records, numbered from 0x1000,
// are recs (each given without its length prefix).
func ipiBytes(recs ...[]byte) []byte {
	var body []byte
	for _, r := range recs {
		body = binary.LittleEndian.AppendUint16(body, uint16(len(r)))
		body = append(body, r...)
	}
	h := make([]byte, tpiHeaderMin)
	binary.LittleEndian.PutUint32(h[0:], 20040203) // V80
	binary.LittleEndian.PutUint32(h[4:], tpiHeaderMin)
	binary.LittleEndian.PutUint32(h[8:], 0x1000)
	binary.LittleEndian.PutUint32(h[12:], 0x1000+uint32(len(recs)))
	binary.LittleEndian.PutUint32(h[16:], uint32(len(body)))
	return append(h, body...)
}

func idRec(kind uint16, a, b uint32, name string) []byte {
	r := binary.LittleEndian.AppendUint16(nil, kind)
	r = binary.LittleEndian.AppendUint32(r, a)
	if kind != lfStringID {
		r = binary.LittleEndian.AppendUint32(r, b)
	}
	r = append(r, name...)
	r = append(r, 0)
	for (len(r)+2)%4 != 0 {
		r = append(r, 0xF1)
	}
	return r
}

func TestIPIFuncNames(t *testing.T) {
	ids := parseIPI(&stream{data: ipiBytes(
		idRec(lfStringID, 0, 0, "Se"),              // 0x1000
		idRec(lfFuncID, 0x1000, 0x74, "Hash"),      // 0x1001: in namespace Se
		idRec(lfMFuncID, 0x1010, 0x1011, "Lookup"), // 0x1002: a method
		idRec(lfFuncID, 0x1002, 0x74, "F"),         // 0x1003: scope is not a string
		idRec(lfFuncID, 0, 0x74, "G"),              // 0x1004: global
		idRec(lfFuncID, 0x1000, 0x74, "")[:10],     // 0x1005: no name, no NUL
		idRec(0x1203, 0, 0, "field list"),          // 0x1006: not an id
	)})
	require.NotNil(t, ids)
	for ti, want := range map[uint32]string{0x1001: "Se::Hash", 0x1002: "Lookup", 0x1003: "F", 0x1004: "G"} {
		scope, name, ok := ids.funcName(ti)
		require.True(t, ok, "%#x", ti)
		got := string(name)
		if len(scope) > 0 {
			got = string(scope) + "::" + got
		}
		assert.Equal(t, want, got, "%#x", ti)
	}
	for _, ti := range []uint32{0, 0xFFF, 0x1000, 0x1005, 0x1006, 0x1007, 0xFFFFFFFF} {
		_, _, ok := ids.funcName(ti)
		assert.False(t, ok, "%#x", ti)
	}
	var none *idStream
	_, _, ok := none.funcName(0x1001)
	assert.False(t, ok)
}

// The header's counts are checked against the stream; records after a
// bad length are not indexed.
func TestParseIPIDamage(t *testing.T) {
	good := ipiBytes(idRec(lfFuncID, 0, 0, "A"), idRec(lfFuncID, 0, 0, "B"))
	assert.Len(t, parseIPI(&stream{data: good}).offs, 2)

	short := good[:tpiHeaderMin-1]
	assert.Nil(t, parseIPI(&stream{data: short}))

	b := append([]byte(nil), good...)
	binary.LittleEndian.PutUint32(b[12:], 0xFFF) // end before begin
	assert.Nil(t, parseIPI(&stream{data: b}))

	b = append([]byte(nil), good...)
	binary.LittleEndian.PutUint32(b[12:], 0xFFFFFFFF) // claims 4 billion records
	assert.Len(t, parseIPI(&stream{data: b}).offs, 2)

	b = append([]byte(nil), good...)
	binary.LittleEndian.PutUint16(b[tpiHeaderMin+16:], 0xFFF0) // second record overruns
	ids := parseIPI(&stream{data: b})
	assert.Len(t, ids.offs, 1)
	_, name, ok := ids.funcName(0x1000)
	require.True(t, ok)
	assert.Equal(t, "A", string(name))
}
