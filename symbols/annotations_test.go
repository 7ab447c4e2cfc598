package symbols

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestUncompress(t *testing.T) {
	for _, tc := range []struct {
		in   []byte
		v    uint32
		n    int
		okay bool
	}{
		{[]byte{0x00}, 0, 1, true},
		{[]byte{0x7F, 0xFF}, 0x7F, 1, true},
		{[]byte{0x80, 0x80}, 0x80, 2, true},
		{[]byte{0xBF, 0xFF}, 0x3FFF, 2, true},
		{[]byte{0xC0, 0x00, 0x40, 0x00}, 0x4000, 4, true},
		{[]byte{0xDF, 0xFF, 0xFF, 0xFF}, 0x1FFFFFFF, 4, true},
		{[]byte{0xE0, 0, 0, 0}, 0, 0, false}, // no 5-byte form
		{[]byte{0xFF}, 0, 0, false},
		{[]byte{0x80}, 0, 0, false},             // truncated
		{[]byte{0xC0, 0x00, 0x01}, 0, 0, false}, // truncated
		{nil, 0, 0, false},
	} {
		v, n, ok := uncompress(tc.in)
		assert.Equal(t, tc.okay, ok, "% x", tc.in)
		assert.Equal(t, tc.v, v, "% x", tc.in)
		assert.Equal(t, tc.n, n, "% x", tc.in)
	}
}

func TestDecodeSigned(t *testing.T) {
	for enc, want := range map[uint32]int32{0: 0, 1: 0, 2: 1, 3: -1, 4: 2, 5: -2, 0x3FFF: -0x1FFF} {
		assert.Equal(t, want, decodeSigned(enc), "%#x", enc)
	}
}

// Programs as clang 14 writes them for x64-inline (llvm-pdbutil dump
// -symbols shows the same ops), and the other opcodes.
func TestDecodeAnnotations(t *testing.T) {
	type row = annotRow
	for _, tc := range []struct {
		name string
		prog []byte
		want []row
		ok   bool
	}{
		{"Bump: code and line, then length", []byte{0x0B, 0x40, 0x04, 0x06},
			[]row{{0, 6, 28, 8}}, true},
		{"Mix: line alone, then code; padding", []byte{0x0B, 0x46, 0x06, 0x02, 0x03, 0x19, 0x0B, 0x29, 0x04, 0x0B, 0x00, 0x00},
			[]row{{6, 0x19, 28, 8}, {0x1F, 9, 29, 8}, {0x28, 0xB, 30, 8}}, true},
		{"second Bump: line, code offset, length", []byte{0x06, 0x04, 0x03, 0x33, 0x04, 0x06, 0x00, 0x00},
			[]row{{0x33, 6, 28, 8}}, true},
		{"CodeOffset is absolute; negative line delta", []byte{0x01, 0x10, 0x06, 0x03, 0x03, 0x04, 0x04, 0x02},
			[]row{{0x10, 4, 26, 8}, {0x14, 2, 25, 8}}, true},
		{"ChangeCodeLengthAndCodeOffset sets both", []byte{0x0C, 0x05, 0x08, 0x0C, 0x03, 0x02},
			[]row{{8, 5, 26, 8}, {0x0A, 3, 26, 8}}, true},
		{"ChangeCodeOffsetBase shifts the rows", []byte{0x02, 0x20, 0x01, 0x04, 0x04, 0x02},
			[]row{{0x24, 2, 26, 8}}, true},
		{"ChangeFile applies to later rows", []byte{0x0B, 0x02, 0x05, 0x18, 0x0B, 0x24, 0x04, 0x01},
			[]row{{2, 4, 26, 8}, {6, 1, 27, 0x18}}, true},
		{"columns, end lines and range kinds are skipped", []byte{0x07, 0x02, 0x08, 0x01, 0x09, 0x05, 0x0A, 0x03, 0x0D, 0x09, 0x0B, 0x01, 0x04, 0x03},
			[]row{{1, 3, 26, 8}}, true},
		{"an open last row is dropped", []byte{0x0B, 0x01, 0x0B, 0x03},
			[]row{{1, 3, 26, 8}}, true},
		{"zero-length rows are dropped", []byte{0x0B, 0x00, 0x0B, 0x20, 0x04, 0x01},
			[]row{{0, 1, 27, 8}}, true},
		{"unknown opcode", []byte{0x0B, 0x01, 0x04, 0x02, 0x0E, 0x00}, []row{{1, 2, 26, 8}}, false},
		{"truncated operand", []byte{0x0B, 0x01, 0x04, 0x02, 0x03, 0x80}, []row{{1, 2, 26, 8}}, false},
		{"missing operand", []byte{0x0B, 0x01, 0x04, 0x02, 0x03}, []row{{1, 2, 26, 8}}, false},
		{"ChangeCodeLengthAndCodeOffset missing its offset", []byte{0x0C, 0x05}, nil, false},
		{"invalid compressed opcode", []byte{0xF0}, nil, false},
		{"empty", nil, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := decodeAnnotations(tc.prog, 26, 8, nil)
			require.Equal(t, tc.ok, ok)
			assert.Equal(t, tc.want, got)
		})
	}
}

// Rows are appended after what the slice holds.
func TestDecodeAnnotationsAppends(t *testing.T) {
	prev := []annotRow{{1, 2, 3, 4}}
	got, ok := decodeAnnotations([]byte{0x0B, 0x40, 0x04, 0x06}, 26, 8, prev)
	require.True(t, ok)
	assert.Equal(t, []annotRow{{1, 2, 3, 4}, {0, 6, 28, 8}}, got)
}
