package xpress

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/poolprof/poolprof/internal/corpus"
)

// TV7 of docs/etl-format.md §6: the start of the stream of the second buffer
// (file offset 0x200) of perfview net.4.5.2.x64.etl. The doc gives only this
// prefix of the stream; it ends after the token "bc 00".
var tv7Stream = []byte{
	0x82, 0x1a, 0x04, 0x00, 0x02, 0x00, 0x11, 0xc0, 0x34, 0x00, 0x05, 0x00, 0x90, 0x34, 0xce, 0x73,
	0x00, 0x00, 0x00, 0x0f, 0x27, 0x01, 0x00, 0x02, 0x41, 0x00, 0x1f, 0x00, 0x3d, 0x2a, 0xbc, 0x00,
}

// The decoded bytes the doc lists for TV7.
var tv7Prefix = []byte{
	0x02, 0x00, 0x11, 0xc0, 0x34, 0x00, 0x05, 0x00, 0x90, 0x34, 0xce, 0x73, 0x00, 0x00, 0x00, 0x00,
	0x0f, 0x27, 0x01, 0x00, 0x02, 0x00,
}

func TestTV7(t *testing.T) {
	// Into a small dst: stop when it is full.
	dst := make([]byte, len(tv7Prefix))
	n, err := Decompress(dst, tv7Stream)
	require.NoError(t, err)
	require.Equal(t, len(tv7Prefix), n)
	assert.Equal(t, tv7Prefix, dst)

	// The whole prefix: 13 literals, (d1,l3), 5 literals, (d9,l4), (d4,l23 via
	// nibble 0x3D&15), literal 0x2A, (d24,l7), then the next flag bit is a
	// literal with no input left, which ends decoding.
	dst = make([]byte, 100)
	n, err = Decompress(dst, tv7Stream)
	require.NoError(t, err)
	require.Equal(t, 13+3+5+4+23+1+7, n)
	assert.Equal(t, tv7Prefix, dst[:len(tv7Prefix)])
	// The record is an EventTrace Extension of size 0x34 with
	// KernelEventVersion 0x2A at +0x30; everything else after +0x14 is zero.
	assert.Equal(t, uint16(0x34), binary.LittleEndian.Uint16(dst[4:]))
	assert.Equal(t, byte(0x2a), dst[0x30])
	for i := 0x15; i < n; i++ {
		if i != 0x30 {
			require.Zerof(t, dst[i], "byte %#x", i)
		}
	}
}

func readCorpus(tb testing.TB, rel string) []byte {
	tb.Helper()
	data, err := os.ReadFile(corpus.Path(tb, rel))
	require.NoError(tb, err)
	return data
}

const netETL = "perfview/net.4.5.2.x64.etl__net.4.5.2.x64.etl"

type etlBuffer struct {
	fileOff    int
	compressed bool
	payload    []byte // bytes after the 0x48-byte header
	outLen     int    // Offset - 0x48
}

// walkBuffers splits an ETL file into buffers as described in
// etl-format.md §1.1.
func walkBuffers(tb testing.TB, data []byte) []etlBuffer {
	tb.Helper()
	var bufs []etlBuffer
	for off := 0; len(data)-off >= 0x48; {
		size := int(binary.LittleEndian.Uint32(data[off:]))
		if size == 0 {
			break
		}
		require.GreaterOrEqual(tb, size, 0x48, "buffer at %#x", off)
		require.LessOrEqual(tb, off+size, len(data), "buffer at %#x", off)
		offset := int(binary.LittleEndian.Uint32(data[off+0x30:]))
		flag := binary.LittleEndian.Uint16(data[off+0x34:])
		require.GreaterOrEqual(tb, offset, 0x48, "buffer at %#x", off)
		bufs = append(bufs, etlBuffer{
			fileOff:    off,
			compressed: flag&0x40 != 0,
			payload:    data[off+0x48 : off+size],
			outLen:     offset - 0x48,
		})
		off += size
	}
	return bufs
}

func TestCorpusNet452(t *testing.T) {
	data := readCorpus(t, netETL)
	bufs := walkBuffers(t, data)
	require.Len(t, bufs, 360)

	compressed := 0
	for _, b := range bufs {
		if !b.compressed {
			continue
		}
		compressed++
		dst := make([]byte, b.outLen)
		n, err := Decompress(dst, b.payload)
		require.NoError(t, err, "buffer at %#x", b.fileOff)
		require.Equal(t, b.outLen, n, "buffer at %#x", b.fileOff)
		// The first record marker: byte 3 is 0xC0 for every header kind here.
		assert.Equal(t, byte(0xc0), dst[3], "buffer at %#x", b.fileOff)

		// Windows pads the last flag word with 1 bits, so decoding into a
		// larger dst stops by itself at the same place.
		big := make([]byte, b.outLen+64)
		n, err = Decompress(big, b.payload)
		require.NoError(t, err, "buffer at %#x", b.fileOff)
		require.Equal(t, b.outLen, n, "buffer at %#x", b.fileOff)
		require.Equal(t, dst, big[:n])
	}
	assert.Equal(t, 359, compressed)

	// TV7 is the second buffer.
	tv := bufs[1]
	require.Equal(t, 0x200, tv.fileOff)
	require.Equal(t, 0xFF68, tv.outLen)
	require.Equal(t, tv7Stream, tv.payload[:len(tv7Stream)])
}

// Every compressed buffer of every real file decodes to exactly Offset-0x48
// bytes and ends by itself.
func TestCorpusAllFiles(t *testing.T) {
	files := corpus.Files(t)
	total := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		require.NoError(t, err)
		for _, b := range walkBuffers(t, data) {
			if !b.compressed {
				continue
			}
			total++
			dst := make([]byte, b.outLen+64)
			n, err := Decompress(dst, b.payload)
			require.NoError(t, err, "%s buffer at %#x", f, b.fileOff)
			require.Equal(t, b.outLen, n, "%s buffer at %#x", f, b.fileOff)
		}
	}
	// net.4.5.2 359, SelfDescribingSingleEvent 2, smallEtlFile 1.
	assert.Equal(t, 362, total)
}

// Our greedy encoder should stay close to Windows' own on real buffers
// (measured: 4 912 669 vs 4 853 041 bytes for 23 016 304 plain).
func TestCorpusRecompress(t *testing.T) {
	data := readCorpus(t, netETL)
	windows, ours := 0, 0
	for _, b := range walkBuffers(t, data) {
		if !b.compressed {
			continue
		}
		plain := make([]byte, b.outLen)
		_, err := Decompress(plain, b.payload)
		require.NoError(t, err)
		windows += len(b.payload)
		ours += len(roundTrip(t, plain))
	}
	assert.Less(t, float64(ours), 1.02*float64(windows))
}

func roundTrip(t *testing.T, src []byte) []byte {
	t.Helper()
	c := Compress(nil, src)
	require.LessOrEqual(t, len(c), MaxCompressedLen(len(src)))
	// One spare byte shows the stream ends by itself.
	dst := make([]byte, len(src)+1)
	n, err := Decompress(dst, c)
	require.NoError(t, err)
	require.Equal(t, len(src), n)
	if !bytes.Equal(src, dst[:n]) {
		t.Fatalf("round trip of %d bytes differs at %d", len(src), firstDiff(src, dst[:n]))
	}
	return c
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

func randomBytes(r *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// etlLike builds data shaped like ETL buffers: 8-byte aligned records with
// a few header kinds, rising timestamps, repeated pointers and stacks.
func etlLike(n int) []byte {
	r := rand.New(rand.NewPCG(1, 2))
	pointers := make([]uint64, 64)
	for i := range pointers {
		pointers[i] = 0xFFFFF80000000000 | uint64(r.Uint32())<<4
	}
	out := make([]byte, 0, n+512)
	ts := uint64(0x73CE0000)
	for len(out) < n {
		ts += uint64(r.IntN(5000))
		kind := r.IntN(4)
		frames := 2 + r.IntN(20)
		size := 0x18 + 8*frames
		rec := make([]byte, size)
		rec[0], rec[1], rec[2], rec[3] = 2, 0, byte(0x11+kind), 0xC0
		binary.LittleEndian.PutUint16(rec[4:], uint16(size))
		binary.LittleEndian.PutUint16(rec[6:], uint16(0x1820+kind))
		binary.LittleEndian.PutUint64(rec[8:], ts)
		binary.LittleEndian.PutUint32(rec[0x10:], 0xF94)
		binary.LittleEndian.PutUint32(rec[0x14:], 0xEC4+uint32(kind))
		base := r.IntN(len(pointers) - 22)
		for f := range frames {
			binary.LittleEndian.PutUint64(rec[0x18+8*f:], pointers[base+f])
		}
		out = append(out, rec...)
	}
	return out[:n]
}

func TestRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	text := []byte(strings.Repeat("The quick brown fox jumps over the lazy dog; pool tag 'Proc' freed. ", 4000))
	longRun := append(append(bytes.Repeat([]byte{0xAA}, 300_000), randomBytes(r, 1000)...), bytes.Repeat([]byte{0}, 70_000)...)
	cases := map[string]struct {
		src      []byte
		maxRatio float64 // compressed/original must not exceed this
	}{
		"empty":      {nil, 1e9},
		"random":     {randomBytes(r, 1<<20), 1.126}, // 4 flag bytes per 32 literals
		"zeros":      {make([]byte, 1<<20), 0.001},
		"repetitive": {bytes.Repeat(randomBytes(r, 1000), 500), 0.01},
		"text":       {text, 0.01},
		"long-run":   {longRun, 0.01},
		"etl-like":   {etlLike(1 << 20), 0.17},
		"period-3":   {bytes.Repeat([]byte("abc"), 100_000), 0.001},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			c := roundTrip(t, tc.src)
			if len(tc.src) > 0 {
				ratio := float64(len(c)) / float64(len(tc.src))
				assert.LessOrEqual(t, ratio, tc.maxRatio)
			} else {
				// Empty input: one flag word of padding bits.
				assert.Equal(t, []byte{0xff, 0xff, 0xff, 0xff}, c)
			}
		})
	}
}

func TestRoundTripSmallExhaustive(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	patterns := map[string]func(n int) []byte{
		"zeros":  func(n int) []byte { return make([]byte, n) },
		"random": func(n int) []byte { return randomBytes(r, n) },
		"period-5": func(n int) []byte {
			b := make([]byte, n)
			for i := range b {
				b[i] = "abcde"[i%5]
			}
			return b
		},
		"two-symbols": func(n int) []byte {
			b := make([]byte, n)
			for i := range b {
				b[i] = byte(r.IntN(2))
			}
			return b
		},
	}
	for name, gen := range patterns {
		t.Run(name, func(t *testing.T) {
			for n := 0; n <= 300; n++ {
				roundTrip(t, gen(n))
			}
		})
	}
}

// encodeItems builds a stream from literals and matches with the encoder
// that Compress uses, so every length form can be produced on purpose.
type item struct {
	lit        []byte
	dist, size int
}

func encodeItems(items []item) []byte {
	need := 4
	for _, it := range items {
		need += len(it.lit) + 10 + 4
	}
	e := encoder{out: make([]byte, need+4*len(items)), op: 4, nibble: -1}
	for _, it := range items {
		if it.lit != nil {
			e.literals(it.lit)
		} else {
			e.match(it.dist, it.size)
		}
	}
	free := 32 - e.nflags
	binary.LittleEndian.PutUint32(e.out[e.flagPos:], uint32(uint64(e.flags)<<free|(1<<free-1)))
	return e.out[:e.op]
}

func TestLengthForms(t *testing.T) {
	// Token bytes each length costs after a literal, for the first long match
	// (which takes a fresh nibble byte).
	cases := []struct {
		length, bytes int
	}{
		{3, 2}, {9, 2}, // length in the token
		{10, 3}, {24, 3}, // nibble
		{25, 4}, {279, 4}, // nibble 15 + byte
		{280, 6}, {65538, 6}, // nibble 15 + 255 + u16
		{65539, 10}, {300_000, 10}, // nibble 15 + 255 + u16 0 + u32
	}
	for _, tc := range cases {
		s := encodeItems([]item{{lit: []byte{'x'}}, {dist: 1, size: tc.length}})
		assert.Equal(t, 4+1+tc.bytes, len(s), "length %d", tc.length)
		dst := make([]byte, tc.length+2)
		n, err := Decompress(dst, s)
		require.NoError(t, err, "length %d", tc.length)
		require.Equal(t, 1+tc.length, n, "length %d", tc.length)
		assert.Equal(t, bytes.Repeat([]byte{'x'}, n), dst[:n], "length %d", tc.length)
	}

	// Compress finds matches of every boundary length too.
	r := rand.New(rand.NewPCG(5, 6))
	for _, l := range []int{3, 4, 9, 10, 11, 24, 25, 26, 279, 280, 281, 65538, 65539, 65540, 1 << 20} {
		unit := randomBytes(r, 40)
		src := append(append(append([]byte{}, unit...), bytes.Repeat([]byte{'z'}, l+1)...), unit...)
		roundTrip(t, src)
	}
}

func TestSharedNibble(t *testing.T) {
	// Two long matches share one nibble byte: the second costs only its token.
	one := encodeItems([]item{{lit: []byte("ab")}, {dist: 2, size: 12}})
	two := encodeItems([]item{{lit: []byte("ab")}, {dist: 2, size: 12}, {dist: 1, size: 20}})
	three := encodeItems([]item{{lit: []byte("ab")}, {dist: 2, size: 12}, {dist: 1, size: 20}, {dist: 2, size: 15}})
	assert.Equal(t, len(one)+2, len(two))
	assert.Equal(t, len(two)+3, len(three)) // the third opens a new nibble byte
	// The nibble byte follows the first long token: low nibble 12-10=2, high 20-10=10.
	assert.Equal(t, byte(0xA2), two[4+2+2])

	dst := make([]byte, 100)
	n, err := Decompress(dst, three)
	require.NoError(t, err)
	require.Equal(t, 2+12+20+15, n)
	want := "ab" + strings.Repeat("ab", 6) + strings.Repeat("b", 20) + strings.Repeat("b", 15)
	assert.Equal(t, want, string(dst[:n]))

	// Nibble 15 in the high half still reads its extra byte after the second token.
	four := encodeItems([]item{{lit: []byte("ab")}, {dist: 2, size: 12}, {dist: 2, size: 100}})
	n, err = Decompress(make([]byte, 200), four)
	require.NoError(t, err)
	assert.Equal(t, 2+12+100, n)
}

func TestDecompressStops(t *testing.T) {
	src := Compress(nil, []byte("hello hello hello hello world"))
	for size := 0; size <= 29; size++ {
		dst := make([]byte, size)
		n, err := Decompress(dst, src)
		require.NoError(t, err)
		require.Equal(t, size, n)
		assert.Equal(t, "hello hello hello hello world"[:size], string(dst))
	}

	// A literal bit with no input left ends decoding without error.
	n, err := Decompress(make([]byte, 10), []byte{0, 0, 0, 0, 'a', 'b'})
	require.NoError(t, err)
	assert.Equal(t, 2, n)

	// So does a stream that ends exactly after a flag word's 32 items.
	s := append([]byte{0, 0, 0, 0}, bytes.Repeat([]byte{'q'}, 32)...)
	n, err = Decompress(make([]byte, 40), s)
	require.NoError(t, err)
	assert.Equal(t, 32, n)

	n, err = Decompress(nil, []byte{1, 2, 3})
	require.NoError(t, err, "an empty dst is full before anything is read")
	assert.Equal(t, 0, n)
}

func TestCorrupt(t *testing.T) {
	lit32 := append([]byte{0, 0, 0, 0}, bytes.Repeat([]byte{'q'}, 32)...)
	cases := []struct {
		name   string
		src    []byte
		offset int
		reason string
		n      int
	}{
		{"short flag word", []byte{0, 0, 0}, 0, reasonFlags, 0},
		{"short second flag word", append(append([]byte{}, lit32...), 0, 0), 36, reasonFlags, 32},
		{"match before output start", []byte{0, 0, 0, 0x80, 0, 0}, 4, reasonDistance, 0},
		{"distance one past output", []byte{0, 0, 0, 0x40, 'a', 0x08, 0}, 5, reasonDistance, 1},
		{"half token", []byte{0, 0, 0, 0x80, 0}, 4, reasonToken, 0},
		{"missing nibble byte", []byte{0, 0, 0, 0x40, 'a', 0x07, 0}, 7, reasonNibble, 1},
		{"missing length byte", []byte{0, 0, 0, 0x40, 'a', 0x07, 0, 0x0f}, 8, reasonLenByte, 1},
		{"half u16", []byte{0, 0, 0, 0x40, 'a', 0x07, 0, 0x0f, 0xff, 1}, 9, reasonLen16, 1},
		{"half u32", []byte{0, 0, 0, 0x40, 'a', 0x07, 0, 0x0f, 0xff, 0, 0, 1, 0}, 11, reasonLen32, 1},
		{"u16 below 22", []byte{0, 0, 0, 0x40, 'a', 0x07, 0, 0x0f, 0xff, 21, 0}, 5, reasonShortLen, 1},
		{"u32 below 22", []byte{0, 0, 0, 0x40, 'a', 0x07, 0, 0x0f, 0xff, 0, 0, 5, 0, 0, 0}, 5, reasonShortLen, 1},
		{"far distance", []byte{0, 0, 0, 0x40, 'a', 0xf8, 0xff}, 5, reasonDistance, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dst := make([]byte, 1000)
			n, err := Decompress(dst, tc.src)
			var ce *CorruptError
			require.ErrorAs(t, err, &ce)
			assert.Equal(t, tc.offset, ce.Offset)
			assert.Equal(t, tc.reason, ce.Reason)
			assert.Equal(t, tc.n, n)
			assert.Contains(t, err.Error(), "offset "+strconv.Itoa(tc.offset))
		})
	}

	// u16 exactly 22 is the smallest valid long form: length 25.
	dst := make([]byte, 100)
	n, err := Decompress(dst, []byte{0, 0, 0, 0x40, 'a', 0x07, 0, 0x0f, 0xff, 22, 0})
	require.NoError(t, err)
	assert.Equal(t, 1+25, n)
	// u16 zero selects the u32 form.
	n, err = Decompress(dst, []byte{0, 0, 0, 0x40, 'a', 0x07, 0, 0x0f, 0xff, 0, 0, 30, 0, 0, 0})
	require.NoError(t, err)
	assert.Equal(t, 1+33, n)
	// A u32 length far beyond dst just fills dst.
	n, err = Decompress(dst, []byte{0, 0, 0, 0x40, 'a', 0x07, 0, 0x0f, 0xff, 0, 0, 0xff, 0xff, 0xff, 0xff})
	require.NoError(t, err)
	assert.Equal(t, len(dst), n)
}

func TestCompressAppends(t *testing.T) {
	src := etlLike(10_000)
	prefix := []byte("prefix")
	c := Compress(append([]byte{}, prefix...), src)
	require.Equal(t, prefix, c[:len(prefix)])
	assert.Equal(t, Compress(nil, src), c[len(prefix):])

	// With enough capacity nothing is allocated.
	buf := make([]byte, 0, MaxCompressedLen(len(src)))
	allocs := testing.AllocsPerRun(10, func() { buf = Compress(buf[:0], src) })
	assert.Zero(t, allocs)
}

func TestDecompressNoAllocs(t *testing.T) {
	src := etlLike(100_000)
	c := Compress(nil, src)
	dst := make([]byte, len(src))
	allocs := testing.AllocsPerRun(10, func() {
		if _, err := Decompress(dst, c); err != nil {
			t.Fatal(err)
		}
	})
	assert.Zero(t, allocs)
}

// The last flag word is padded with 1 bits (MS-XCA §2.3), and after exactly
// 32 items a whole padding word follows.
func TestCompressPadding(t *testing.T) {
	assert.Equal(t, []byte{0xff, 0xff, 0xff, 0x1f, 'a', 'b', 'c'}, Compress(nil, []byte("abc")))

	lit := []byte("0123456789abcdefghijklmnopqrstuv") // 32 distinct bytes
	want := append(append([]byte{0, 0, 0, 0}, lit...), 0xff, 0xff, 0xff, 0xff)
	assert.Equal(t, want, Compress(nil, lit))

	// "aaaaaaaaaa": literal, then a match of 9 at distance 1 (token 0x0006).
	assert.Equal(t, []byte{0xff, 0xff, 0xff, 0x7f, 'a', 0x06, 0x00}, Compress(nil, bytes.Repeat([]byte{'a'}, 10)))
}

func TestMaxCompressedLen(t *testing.T) {
	assert.Equal(t, 4, MaxCompressedLen(0))
	assert.Equal(t, 31+4, MaxCompressedLen(31))
	assert.Equal(t, 32+8, MaxCompressedLen(32))
	// Incompressible input reaches the bound exactly.
	r := rand.New(rand.NewPCG(9, 9))
	for _, n := range []int{1, 31, 32, 33, 64, 1000} {
		assert.Equal(t, MaxCompressedLen(n), len(Compress(nil, randomBytes(r, n))), "n=%d", n)
	}
}

func FuzzDecompress(f *testing.F) {
	f.Add(tv7Stream, uint16(100))
	f.Add(Compress(nil, []byte("hello hello hello hello world")), uint16(40))
	f.Add([]byte{0, 0, 0, 0x40, 'a', 0x07, 0, 0x0f, 0xff, 0, 0, 0xff, 0xff, 0xff, 0xff}, uint16(300))
	f.Add(encodeItems([]item{{lit: []byte("ab")}, {dist: 2, size: 12}, {dist: 1, size: 20}}), uint16(64))
	f.Fuzz(func(t *testing.T, src []byte, size uint16) {
		dst := make([]byte, size)
		for i := range dst {
			dst[i] = 0xEE
		}
		n, err := Decompress(dst, src)
		if n < 0 || n > len(dst) {
			t.Fatalf("n=%d outside [0,%d]", n, len(dst))
		}
		if err != nil {
			var ce *CorruptError
			if !errors.As(err, &ce) {
				t.Fatalf("error %T is not *CorruptError", err)
			}
			if ce.Offset < 0 || ce.Offset > len(src) {
				t.Fatalf("offset %d outside input of %d bytes", ce.Offset, len(src))
			}
		}
		// Nothing past n is touched.
		for i := n; i < len(dst); i++ {
			if dst[i] != 0xEE {
				t.Fatalf("byte %d written beyond n=%d", i, n)
			}
		}
		// A smaller dst yields a prefix of the same output.
		half := make([]byte, n/2)
		m, err2 := Decompress(half, src)
		if m != n/2 || err2 != nil || !bytes.Equal(half, dst[:m]) {
			t.Fatalf("prefix decode: m=%d err=%v, want %d bytes of the full decode", m, err2, n/2)
		}
	})
}

func FuzzRoundTrip(f *testing.F) {
	f.Add([]byte(""))
	f.Add([]byte("hello hello hello hello world"))
	f.Add(bytes.Repeat([]byte{0}, 1000))
	f.Add(etlLike(3000))
	f.Fuzz(func(t *testing.T, src []byte) {
		c := Compress(nil, src)
		if len(c) > MaxCompressedLen(len(src)) {
			t.Fatalf("compressed %d bytes to %d, bound %d", len(src), len(c), MaxCompressedLen(len(src)))
		}
		dst := make([]byte, len(src)+8)
		n, err := Decompress(dst, c)
		if err != nil || n != len(src) || !bytes.Equal(src, dst[:n]) {
			t.Fatalf("round trip: n=%d err=%v want %d bytes", n, err, len(src))
		}
	})
}

// corpusBuffers returns the compressed payloads of the real file and their
// decompressed sizes.
func corpusBuffers(b *testing.B) (srcs [][]byte, sizes []int, total int) {
	data := readCorpus(b, netETL)
	for _, buf := range walkBuffers(b, data) {
		if buf.compressed {
			srcs = append(srcs, buf.payload)
			sizes = append(sizes, buf.outLen)
			total += buf.outLen
		}
	}
	return srcs, sizes, total
}

func BenchmarkDecompressCorpus(b *testing.B) {
	srcs, sizes, total := corpusBuffers(b)
	dst := make([]byte, 1<<16)
	b.SetBytes(int64(total))
	b.ReportAllocs()
	for b.Loop() {
		for i, s := range srcs {
			if _, err := Decompress(dst[:sizes[i]], s); err != nil {
				b.Fatal(err)
			}
		}
	}
}

func BenchmarkCompressCorpus(b *testing.B) {
	srcs, sizes, total := corpusBuffers(b)
	plain := make([][]byte, len(srcs))
	for i, s := range srcs {
		plain[i] = make([]byte, sizes[i])
		if _, err := Decompress(plain[i], s); err != nil {
			b.Fatal(err)
		}
	}
	out := make([]byte, 0, MaxCompressedLen(1<<16))
	b.SetBytes(int64(total))
	b.ReportAllocs()
	for b.Loop() {
		for _, p := range plain {
			out = Compress(out[:0], p)
		}
	}
}

const genSize = 4 << 20

func BenchmarkDecompressGenerated(b *testing.B) {
	src := etlLike(genSize)
	c := Compress(nil, src)
	dst := make([]byte, len(src))
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decompress(dst, c); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(c))/float64(len(src)), "ratio")
}

func BenchmarkCompressGenerated(b *testing.B) {
	src := etlLike(genSize)
	out := make([]byte, 0, MaxCompressedLen(len(src)))
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		out = Compress(out[:0], src)
	}
	b.ReportMetric(float64(len(out))/float64(len(src)), "ratio")
}
