package symbols

import (
	"encoding/binary"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Regression tests for hostile PDBs whose cost was out of proportion to
// their size. Each measures the bytes allocated while opening the file
// (runtime.MemStats.TotalAlloc, which counts every allocation, unlike
// testing.AllocsPerRun, which counts only their number) and bounds them
// by a small multiple of the file size.

// allocatedDuring returns the bytes allocated while f runs and how long
// it took.
func allocatedDuring(f func()) (uint64, time.Duration) {
	runtime.GC()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	t0 := time.Now()
	f()
	d := time.Since(t0)
	runtime.ReadMemStats(&m1)
	return m1.TotalAlloc - m0.TotalAlloc, d
}

// maxOpenAlloc is the most a test here lets opening a file of n bytes
// allocate: reading it costs about 2n (the streams and the directory),
// the tables built from it a few n more; the quadratic cases allocated
// hundreds to thousands of times n.
func maxOpenAlloc(n int) uint64 { return 16*uint64(n) + 4<<20 }

// The public symbol index's address map lists one S_PUB32 with a long
// name 10000 times. Each listing used to copy the name again (a 107 KB
// file allocated about 4 GB); repeats are now skipped.
func TestOpenPublicsAddressMapRepeatsOneRecord(t *testing.T) {
	s := minimalStreams(t, "x64-publics")
	dbi, err := parseDBI(&stream{data: s[3]})
	require.NoError(t, err)
	const nameLen = 60000
	rec := make([]byte, 2+2+4+4+2+nameLen+1)
	binary.LittleEndian.PutUint16(rec[0:], uint16(len(rec)-2))
	binary.LittleEndian.PutUint16(rec[2:], sPub32)
	binary.LittleEndian.PutUint32(rec[4:], pubFlagFunction)
	binary.LittleEndian.PutUint32(rec[8:], 0x10)
	binary.LittleEndian.PutUint16(rec[12:], 1)
	for i := range nameLen {
		rec[14+i] = 'A'
	}
	s[dbi.symRecStream] = rec
	const entries = 10000
	psi := make([]byte, psiHeaderSize+4*entries) // every entry is offset 0
	binary.LittleEndian.PutUint32(psi[4:], 4*entries)
	s[dbi.publicsStream] = psi
	b, _ := testMSF{blockSize: 512, streams: s}.write(t)

	var p *PDB
	alloc, d := allocatedDuring(func() { p, err = open(b) })
	t.Logf("%d-byte file: %d bytes allocated in %v", len(b), alloc, d)
	require.NoError(t, err)
	assert.LessOrEqual(t, alloc, maxOpenAlloc(len(b)))

	require.Equal(t, 1, p.NumPublics(), "one record, listed many times, is one public")
	rva, ok := p.t.space.rva(1, 0x10)
	require.True(t, ok)
	sym, ok := p.Lookup(rva)
	require.True(t, ok)
	assert.Equal(t, Public, sym.Kind)
	assert.Equal(t, strings.Repeat("A", nameLen), sym.Name)
}

// intern refuses to copy more name bytes than its budget allows.
func TestInternNameBudget(t *testing.T) {
	s := &stream{idx: 7, name: "symbol records"}
	b := builder{nameBudget: 10}
	r, err := b.intern(s, []byte("0123456"))
	require.NoError(t, err)
	assert.Equal(t, strRef{0, 7}, r)
	_, err = b.intern(s, []byte("0123"))
	var fe *FormatError
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, 7, fe.Stream)
	r, err = b.intern(s, []byte("012"))
	require.NoError(t, err, "exactly the rest of the budget")
	assert.Equal(t, strRef{7, 3}, r)
	assert.Equal(t, "0123456012", string(b.arena))
}

// A module's file checksum entries point at every offset inside one
// long /names string. Each distinct offset used to copy its suffix:
// quadratic memory (a 434 KB file allocated 203 MB). File names are now
// substrings of one copy of the table.
func TestOpenLineFilesAtEveryOffsetOfOneName(t *testing.T) {
	s := minimalStreams(t, "x64-full")
	info, err := parseInfo(&stream{data: s[1]})
	require.NoError(t, err)
	const L = 20000
	names := make([]byte, 12+L+1)
	binary.LittleEndian.PutUint32(names[0:], namesSignature)
	binary.LittleEndian.PutUint32(names[4:], 1)
	binary.LittleEndian.PutUint32(names[8:], L+1)
	for i := range L {
		names[12+i] = 'A'
	}
	s[info.named["/names"]] = names

	// C13 lines: checksum entry i names offset i; one empty line block
	// per entry.
	chk := make([]byte, 8*L)
	for i := range L {
		binary.LittleEndian.PutUint32(chk[8*i:], uint32(i))
	}
	lines := make([]byte, 12+12*L)
	binary.LittleEndian.PutUint16(lines[4:], 1)
	for i := range L {
		p := 12 + 12*i
		binary.LittleEndian.PutUint32(lines[p:], uint32(8*i))
		binary.LittleEndian.PutUint32(lines[p+8:], 12)
	}
	var c13 []byte
	sub := func(kind uint32, body []byte) {
		h := make([]byte, 8)
		binary.LittleEndian.PutUint32(h, kind)
		binary.LittleEndian.PutUint32(h[4:], uint32(len(body)))
		c13 = append(append(c13, h...), body...)
	}
	sub(debugSFileChecksums, chk)
	sub(debugSLines, lines)

	// The first module with a stream gets only these lines; the others
	// lose their streams.
	d := s[3][dbiHeaderSize:]
	target := -1
	for pos := 0; pos < len(d); {
		r := d[pos:]
		st := int(binary.LittleEndian.Uint16(r[34:]))
		if st != noStream && target < 0 {
			target = st
			binary.LittleEndian.PutUint32(r[36:], 0)
			binary.LittleEndian.PutUint32(r[40:], 0)
			binary.LittleEndian.PutUint32(r[44:], uint32(len(c13)))
		} else if st != noStream {
			binary.LittleEndian.PutUint16(r[34:], noStream)
		}
		p := moduleFixedSize
		n, _ := cstring(r[p:])
		p += len(n) + 1
		o, _ := cstring(r[p:])
		p += len(o) + 1
		pos += (p + 3) &^ 3
	}
	require.GreaterOrEqual(t, target, 0)
	s[target] = c13
	b, _ := testMSF{blockSize: 512, streams: s}.write(t)

	var p *PDB
	alloc, dur := allocatedDuring(func() { p, err = open(b) })
	t.Logf("%d-byte file: %d bytes allocated in %v", len(b), alloc, dur)
	require.NoError(t, err)
	assert.LessOrEqual(t, alloc, maxOpenAlloc(len(b)))

	require.Len(t, p.t.files, L)
	for _, i := range []int{0, 1, L / 2, L - 1} {
		assert.Equal(t, strings.Repeat("A", L-i), p.t.files[i], "file %d", i)
	}
}

// The /names table hands out the string at any offset, including the
// empty string at a NUL, and rejects unterminated ones.
func TestStringTableStr(t *testing.T) {
	d := []byte{0xFE, 0xEF, 0xFE, 0xEF, 1, 0, 0, 0, 9, 0, 0, 0}
	d = append(d, "\x00ab\x00cde\x00f"...)
	tab, err := parseNames(&stream{m: &msf{}, data: d})
	require.NoError(t, err)
	for off, want := range []string{"", "ab", "b", "", "cde", "de", "e", ""} {
		got, err := tab.str(uint32(off))
		require.NoError(t, err, "offset %d", off)
		assert.Equal(t, want, got, "offset %d", off)
	}
	_, err = tab.str(8)
	assert.ErrorContains(t, err, "unterminated")
	_, err = tab.str(9)
	assert.ErrorContains(t, err, "outside")
}

// namedStreamInfo returns an info stream from the fixture's, with a
// named stream map of the string buffer strs and the (offset, stream)
// entries.
func namedStreamInfo(t *testing.T, strs []byte, entries [][2]uint32) []byte {
	t.Helper()
	old := minimalStreams(t, "x64-publics")[1]
	d := append([]byte(nil), old[:28]...)
	u32 := func(v uint32) { d = binary.LittleEndian.AppendUint32(d, v) }
	u32(uint32(len(strs)))
	d = append(d, strs...)
	u32(uint32(len(entries))) // size
	u32(uint32(len(entries))) // capacity
	u32(0)                    // present bit vector words
	u32(0)                    // deleted bit vector words
	for _, e := range entries {
		u32(e[0])
		u32(e[1])
	}
	u32(0) // num_name_index
	return d
}

// Named stream map entries that all point at one 100000-byte name cost
// quadratic time and memory (a 209 KB file: 1.3 GB allocated, about a
// second). Repeated offsets are now skipped, names over maxStreamName
// bytes ignored, and names are substrings of one copy of the buffer.
func TestOpenNamedStreamMapLongNameRepeated(t *testing.T) {
	const L, N = 100000, 12500
	strs := append([]byte(strings.Repeat("n", L)), 0)
	entries := make([][2]uint32, N)
	for i := range entries {
		entries[i] = [2]uint32{0, 5}
	}
	s := minimalStreams(t, "x64-publics")
	s[1] = namedStreamInfo(t, strs, entries)
	b, _ := testMSF{blockSize: 512, streams: s}.write(t)

	var err error
	alloc, d := allocatedDuring(func() { _, err = open(b) })
	t.Logf("%d-byte file: %d bytes allocated in %v", len(b), alloc, d)
	require.NoError(t, err)
	assert.LessOrEqual(t, alloc, maxOpenAlloc(len(b)))
	assert.Less(t, d, 2*time.Second)
}

// Entries at every offset of one long name are each distinct, so only
// the length limit bounds them: each scan stops after maxStreamName
// bytes.
func TestParseNamedStreamsEveryOffsetOfLongName(t *testing.T) {
	const L = 100000
	strs := append([]byte("/names\x00"), strings.Repeat("n", L)...)
	strs = append(strs, 0)
	var entries [][2]uint32
	for k := 7; k < len(strs)-1; k += 4 {
		entries = append(entries, [2]uint32{uint32(k), 9})
	}
	entries = append(entries, [2]uint32{0, 3}, [2]uint32{0, 4}) // a repeat is skipped
	d := namedStreamInfo(t, strs, entries)

	var in *infoStream
	var err error
	alloc, dur := allocatedDuring(func() { in, err = parseInfo(&stream{data: d}) })
	t.Logf("%d-byte info stream: %d bytes allocated in %v", len(d), alloc, dur)
	require.NoError(t, err)
	assert.LessOrEqual(t, alloc, maxOpenAlloc(len(d)))
	assert.Less(t, dur, 2*time.Second)
	assert.Equal(t, 3, in.named["/names"])
	assert.Equal(t, 9, in.named[strings.Repeat("n", maxStreamName)], "names up to the limit are kept")
	for name := range in.named {
		assert.LessOrEqual(t, len(name), maxStreamName)
	}

	// An unterminated short name is still an error.
	d = namedStreamInfo(t, []byte("/names"), [][2]uint32{{0, 3}})
	_, err = parseInfo(&stream{m: &msf{}, data: d})
	assert.ErrorContains(t, err, "unterminated")
}

// Files placed into a store are readable by others (0644), not left
// with os.CreateTemp's 0600.
func TestFindPlacedFileMode(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix permission bits")
	}
	req, pdb := fixtureRequest(t, "x64-full")
	c1, c2, up := t.TempDir(), t.TempDir(), t.TempDir()
	putFile(t, keyPath(up, req, "x64-full.pdb"), pdb)
	l, _ := newTestLocator(t, "srv*"+c1+"*"+c2+"*"+up, Options{})
	res, err := l.Find(t.Context(), req)
	requireFound(t, res, err, keyPath(c1, req, "x64-full.pdb"), pdb)
	for _, c := range []string{c1, c2} {
		fi, err := os.Stat(keyPath(c, req, "x64-full.pdb"))
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o644), fi.Mode().Perm(), "mode of the file placed in %s", c)
	}
}

// Store names are cut by characters, not bytes.
func TestStoreNamesMultiByte(t *testing.T) {
	for _, tc := range []struct{ name, compressed, prefix string }{
		{"日本.pdb", "日本.pd_", "日本"},
		{"日.pdb", "日.pd_", "日"},
		{"ab.pdé", "ab.pd_", "ab"},
		{"Ä本", "Ä_", "ä本"},
		{"日", "_", "日"},
		{"ntkrnlmp.pdb", "ntkrnlmp.pd_", "nt"},
		{"", "_", ""},
	} {
		c, p := compressedName(tc.name), twoTierPrefix(tc.name)
		assert.Equal(t, tc.compressed, c, "compressedName(%q)", tc.name)
		assert.Equal(t, tc.prefix, p, "twoTierPrefix(%q)", tc.name)
		assert.True(t, utf8.ValidString(c) && utf8.ValidString(p), "%q: %q %q", tc.name, c, p)
	}
}
