package kernel

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestStrWide(t *testing.T) {
	for _, tc := range []struct {
		name string
		raw  []byte
		want string
	}{
		{"ascii", utf16raw("ntdll.dll"), "ntdll.dll"},
		{"latin and cjk", utf16raw("Café 漢字"), "Café 漢字"},
		{"surrogate pair", []byte{0x3d, 0xd8, 0x00, 0xde}, "😀"},
		{"lone high surrogate", []byte{0x3d, 0xd8, 'a', 0}, "\uFFFDa"},
		{"lone low surrogate", []byte{0x00, 0xde, 'a', 0}, "\uFFFDa"},
		{"high at end", []byte{'a', 0, 0x3d, 0xd8}, "a\uFFFD"},
		{"empty", nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := WideStr(tc.raw)
			assert.True(t, s.Wide())
			assert.Equal(t, tc.want, s.String())
			assert.Equal(t, "x"+tc.want, string(s.Append([]byte("x"))))
			assert.True(t, s.Equal(tc.want), "Equal")
			assert.False(t, s.Equal(tc.want+"a"), "Equal with a longer string")
			assert.Equal(t, tc.want == "", s.IsEmpty())
			if tc.want != "" {
				assert.False(t, s.Equal(tc.want[:len(tc.want)-1]), "Equal with a shorter string")
			}
		})
	}
}

func TestStrNarrow(t *testing.T) {
	assert.Equal(t, "svchost.exe", ByteStr([]byte("svchost.exe")).String())
	assert.Equal(t, "naïve", ByteStr([]byte("naïve")).String(), "valid UTF-8 stays UTF-8")
	assert.Equal(t, "na\u00efve", ByteStr([]byte{'n', 'a', 0xEF, 'v', 'e'}).String(), "invalid UTF-8 reads as Latin-1")
	assert.True(t, ByteStr([]byte{'n', 'a', 0xEF, 'v', 'e'}).Equal("naïve"))
	assert.False(t, ByteStr([]byte("abc")).Wide())
}

func TestStrEqualFold(t *testing.T) {
	s := WideStr(utf16raw(`\SystemRoot\System32\NTOSKRNL.EXE`))
	assert.True(t, s.EqualFold(`\systemroot\system32\ntoskrnl.exe`))
	assert.False(t, s.EqualFold(`\systemroot\system32\ntoskrnl.ex`))
	assert.True(t, s.Base().EqualFold("ntoskrnl.exe"))
	assert.Equal(t, "NTOSKRNL.EXE", s.Base().String())
	assert.True(t, WideStr(utf16raw("ÄÖÜ")).EqualFold("äöü"))
	assert.True(t, ByteStr([]byte("K")).EqualFold("\u212A"), "Kelvin sign folds to K")
	assert.False(t, ByteStr([]byte("a")).EqualFold("b"))
}

func TestStrBase(t *testing.T) {
	assert.Equal(t, "c.dll", WideStr(utf16raw(`a\b/c.dll`)).Base().String())
	assert.Equal(t, "", WideStr(utf16raw(`a\`)).Base().String())
	assert.Equal(t, "x.pdb", ByteStr([]byte(`e:\a\x.pdb`)).Base().String())
	assert.Equal(t, "x.pdb", ByteStr([]byte(`x.pdb`)).Base().String())
	// U+5C00 has a 0x5C byte but is not a separator.
	assert.Equal(t, "a\u5c00b", WideStr([]byte{'a', 0, 0x00, 0x5c, 'b', 0}).Base().String())
}

func TestCursorStrings(t *testing.T) {
	// Terminated, unterminated at the end, odd trailing byte, absent.
	c := newCursor([]byte{'a', 0, 0, 0, 'b', 0, 'c', 0, 'd'}, 8)
	s := c.wstr()
	assert.Equal(t, "a", s.String())
	s = c.wstr()
	assert.Equal(t, "bc", s.String(), "missing terminator at the payload end is tolerated")
	assert.Equal(t, 9, c.off)
	assert.True(t, c.wstr().IsEmpty(), "a string after the end is empty")
	assert.True(t, c.astr().IsEmpty())
	assert.NoError(t, c.err(nil, KindUnknown))

	c = newCursor([]byte("ab\x00cd"), 8)
	assert.Equal(t, "ab", c.astr().String())
	assert.Equal(t, "cd", c.astr().String())
	assert.Equal(t, 5, c.off)

	// A decoded string cannot grow into the payload.
	payload := []byte{'a', 0, 0, 0, 'z', 0}
	c = newCursor(payload, 8)
	s = c.wstr()
	_ = append(s.Raw(), 'X', 'X')
	assert.Equal(t, byte(0), payload[2])
}
