package symbols

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/require"
)

// A minimal MSF writer for tests: it re-packs the streams of a real
// PDB with another block size, in another block order, with extra or
// changed streams, or with a damaged directory.

// testMSF describes an MSF file to write.
type testMSF struct {
	blockSize int
	streams   [][]byte // nil: a nil stream
	// scramble places stream blocks in a permuted order, so that no
	// stream is contiguous.
	scramble bool
	// editDir, if set, may change the stream sizes and block lists just
	// before the directory is written.
	editDir func(sizes []uint32, blocks [][]uint32)
}

// layout is where write put things, for computing expected offsets.
type layout struct {
	blockSize int
	blocks    [][]uint32 // per stream
}

func (l layout) fileOffset(stream, off int) int64 {
	bs := l.blockSize
	return int64(l.blocks[stream][off/bs])*int64(bs) + int64(off%bs)
}

// reserved reports whether block b belongs to the superblock or a free
// block map (blocks 1 and 2 of every interval of blockSize blocks).
func reserved(b, bs int) bool { return b == 0 || b%bs == 1 || b%bs == 2 }

func (w testMSF) write(t testing.TB) ([]byte, layout) {
	t.Helper()
	bs := w.blockSize
	next := 0
	alloc := func() uint32 {
		for reserved(next, bs) {
			next++
		}
		next++
		return uint32(next - 1)
	}
	sizes := make([]uint32, len(w.streams))
	blocks := make([][]uint32, len(w.streams))
	var all []uint32
	for i, s := range w.streams {
		if s == nil {
			sizes[i] = nilStreamSize
			continue
		}
		sizes[i] = uint32(len(s))
		for range (len(s) + bs - 1) / bs {
			b := alloc()
			blocks[i] = append(blocks[i], b)
			all = append(all, b)
		}
	}
	if w.scramble {
		// Reverse all data blocks: every stream runs backwards.
		perm := make(map[uint32]uint32, len(all))
		for i, b := range all {
			perm[b] = all[len(all)-1-i]
		}
		for _, bl := range blocks {
			for j, b := range bl {
				bl[j] = perm[b]
			}
		}
	}
	contents := map[uint32][]byte{}
	for i, s := range w.streams {
		for j, b := range blocks[i] {
			contents[b] = s[j*bs : min((j+1)*bs, len(s))]
		}
	}
	if w.editDir != nil {
		w.editDir(sizes, blocks)
	}
	var dir []byte
	dir = binary.LittleEndian.AppendUint32(dir, uint32(len(sizes)))
	for _, s := range sizes {
		dir = binary.LittleEndian.AppendUint32(dir, s)
	}
	for _, bl := range blocks {
		for _, b := range bl {
			dir = binary.LittleEndian.AppendUint32(dir, b)
		}
	}
	var dirBlocks []uint32
	for j := 0; j < len(dir); j += bs {
		b := alloc()
		dirBlocks = append(dirBlocks, b)
		contents[b] = dir[j:min(j+bs, len(dir))]
	}
	require.LessOrEqual(t, len(dirBlocks), bs/4)
	mapBlock := alloc()
	var bm []byte
	for _, b := range dirBlocks {
		bm = binary.LittleEndian.AppendUint32(bm, b)
	}
	contents[mapBlock] = bm
	numBlocks := next
	out := make([]byte, numBlocks*bs)
	copy(out, msfMagic)
	binary.LittleEndian.PutUint32(out[32:], uint32(bs))
	binary.LittleEndian.PutUint32(out[36:], 1) // free block map block
	binary.LittleEndian.PutUint32(out[40:], uint32(numBlocks))
	binary.LittleEndian.PutUint32(out[44:], uint32(len(dir)))
	binary.LittleEndian.PutUint32(out[52:], mapBlock)
	for b, c := range contents {
		copy(out[int(b)*bs:], c)
	}
	return out, layout{blockSize: bs, blocks: blocks}
}

// streamsOf returns all streams of an MSF file (nil for nil streams).
func streamsOf(t testing.TB, b []byte) [][]byte {
	t.Helper()
	m, err := openMSF(bytes.NewReader(b), int64(len(b)))
	require.NoError(t, err)
	out := make([][]byte, len(m.sizes))
	for i := range out {
		if !m.present(i) {
			continue
		}
		s, err := m.readStream(i, "test")
		require.NoError(t, err)
		out[i] = s.data
	}
	return out
}

// fixtureStreams returns a copy of the streams of a fixture.
func fixtureStreams(t testing.TB, name string) [][]byte {
	return streamsOf(t, readFixture(t, name))
}

// dbiLayout locates the substreams of a DBI stream.
type dbiLayout struct {
	modules, dbgHeader, dbgHeaderLen int
}

func dbiLayoutOf(dbi []byte) dbiLayout {
	u := func(at int) int { return int(int32(binary.LittleEndian.Uint32(dbi[at:]))) }
	l := dbiLayout{modules: dbiHeaderSize}
	l.dbgHeader = dbiHeaderSize + u(24) + u(28) + u(32) + u(36) + u(40) + u(52)
	l.dbgHeaderLen = u(48)
	return l
}

// setDbgStream sets slot i of the DBI optional debug header.
func setDbgStream(t testing.TB, dbi []byte, slot int, stream int) {
	t.Helper()
	l := dbiLayoutOf(dbi)
	require.Less(t, 2*slot, l.dbgHeaderLen)
	binary.LittleEndian.PutUint16(dbi[l.dbgHeader+2*slot:], uint16(stream))
}

// minimalStreams empties every stream the reader does not read (TPI,
// the TPI and IPI hash streams, the global symbol hash, ...), to make small
// inputs for fuzzing and cheap damage tests.
func minimalStreams(t testing.TB, name string) [][]byte {
	t.Helper()
	s := fixtureStreams(t, name)
	info, err := parseInfo(&stream{data: s[1]})
	require.NoError(t, err)
	dbi, err := parseDBI(&stream{data: s[3]})
	require.NoError(t, err)
	keep := map[int]bool{1: true, 3: true, ipiStreamIndex: true, int(dbi.publicsStream): true, int(dbi.symRecStream): true,
		info.named["/names"]: true, dbi.dbgStream(dbgSectionHdr): true}
	for _, m := range dbi.modules {
		keep[m.Stream] = true
	}
	for i := range s {
		if !keep[i] && s[i] != nil {
			s[i] = []byte{}
		}
	}
	return s
}

func TestWriterRoundTrip(t *testing.T) {
	orig := readFixture(t, "x64-full")
	streams := streamsOf(t, orig)
	for _, bs := range []int{512, 4096} {
		b, _ := testMSF{blockSize: bs, streams: streams}.write(t)
		require.Equal(t, streams, streamsOf(t, b))
	}
}
