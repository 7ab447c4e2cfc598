package symbols

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const gcabFixture = "../testdata/symstore/x64-full.pd_"

// cabOpts shapes a cabinet written by makeCab.
type cabOpts struct {
	comp    uint16 // compression type
	flags   uint16
	block   int  // uncompressed bytes per block (default 32768)
	noSum   bool // leave checksums 0
	reserve bool // write reserve fields (2 bytes per data block)
	files   int  // cFiles (default 1)
	badSum  bool // corrupt the first block's checksum
}

// makeCab writes a one-folder, one-file cabinet holding data, the way
// symstore lays out a compressed PDB, with MSZIP blocks compressed by
// compress/flate with the history of the previous blocks.
func makeCab(t testing.TB, name string, data []byte, o cabOpts) []byte {
	t.Helper()
	if o.block == 0 {
		o.block = mszipBlockMax
	}
	if o.files == 0 {
		o.files = 1
	}
	le := binary.LittleEndian
	var blocks [][]byte
	var hist []byte
	for off := 0; off < len(data) || off == 0; off += o.block {
		chunk := data[off:min(off+o.block, len(data))]
		var body []byte
		switch o.comp {
		case cabCompMSZIP:
			var buf bytes.Buffer
			buf.WriteString("CK")
			fw, err := flate.NewWriterDict(&buf, flate.BestCompression, hist)
			require.NoError(t, err)
			_, err = fw.Write(chunk)
			require.NoError(t, err)
			require.NoError(t, fw.Close())
			body = buf.Bytes()
			hist = append(hist, chunk...)
			if len(hist) > mszipWindowSize {
				hist = hist[len(hist)-mszipWindowSize:]
			}
		default:
			body = chunk
		}
		require.LessOrEqual(t, len(body), 0xffff)
		hdr := make([]byte, cabDataHdrSize)
		le.PutUint16(hdr[4:], uint16(len(body)))
		le.PutUint16(hdr[6:], uint16(len(chunk)))
		if !o.noSum {
			sum := cabChecksum(hdr[4:8], cabChecksum(body, 0))
			if o.badSum && len(blocks) == 0 {
				sum ^= 1
			}
			le.PutUint32(hdr, sum)
		}
		if o.reserve {
			hdr = append(hdr, 0xAA, 0xBB)
		}
		blocks = append(blocks, append(hdr, body...))
		if len(data) == 0 {
			break
		}
	}
	hdrSize := cabHeaderSize
	if o.reserve {
		hdrSize += 4 + 3 // cbCFHeader, cbCFFolder, cbCFData, 3 header reserve bytes
	}
	folderSize := cabFolderSize
	if o.reserve {
		folderSize++
	}
	coffFiles := hdrSize + folderSize
	fileEntry := make([]byte, cabFileSize)
	le.PutUint32(fileEntry, uint32(len(data)))
	le.PutUint16(fileEntry[10:], 0x5821)
	le.PutUint16(fileEntry[14:], 0x20)
	fileEntry = append(append(fileEntry, name...), 0)
	dataStart := coffFiles + len(fileEntry)
	total := dataStart
	for _, b := range blocks {
		total += len(b)
	}

	var c []byte
	h := make([]byte, cabHeaderSize)
	copy(h, "MSCF")
	le.PutUint32(h[8:], uint32(total))
	le.PutUint32(h[16:], uint32(coffFiles))
	h[24], h[25] = 3, 1
	le.PutUint16(h[26:], 1)
	le.PutUint16(h[28:], uint16(o.files))
	flags := o.flags
	if o.reserve {
		flags |= cabFlagReserve
	}
	le.PutUint16(h[30:], flags)
	c = append(c, h...)
	if o.reserve {
		c = append(c, 3, 0, 1, 2, 0xEE, 0xEE, 0xEE)
	}
	f := make([]byte, cabFolderSize)
	le.PutUint32(f, uint32(dataStart))
	le.PutUint16(f[4:], uint16(len(blocks)))
	le.PutUint16(f[6:], o.comp)
	c = append(c, f...)
	if o.reserve {
		c = append(c, 0xFF)
	}
	c = append(c, fileEntry...)
	for _, b := range blocks {
		c = append(c, b...)
	}
	require.Equal(t, total, len(c))
	return c
}

func expandBytes(cab []byte, max int64) (string, []byte, error) {
	var out bytes.Buffer
	name, n, err := expandCab(bytes.NewReader(cab), int64(len(cab)), max, &out)
	if err == nil && n != int64(out.Len()) {
		panic("count")
	}
	return name, out.Bytes(), err
}

// TestExpandGcab expands a cabinet made by a real tool (gcab, see
// testdata/symstore/README.md) to the exact PDB it was made from.
func TestExpandGcab(t *testing.T) {
	cab, err := os.ReadFile(gcabFixture)
	require.NoError(t, err)
	pdb := readFixture(t, "x64-full")
	name, out, err := expandBytes(cab, 1<<30)
	require.NoError(t, err)
	assert.Equal(t, "x64-full.pdb", name)
	assert.True(t, bytes.Equal(pdb, out), "expanded %d bytes, want the %d of x64-full.pdb", len(out), len(pdb))
	// gcab wrote checksums: one flipped bit in the data is caught.
	bad := bytes.Clone(cab)
	bad[len(bad)-10] ^= 0x40
	_, _, err = expandBytes(bad, 1<<30)
	require.Error(t, err)
}

func TestExpandSelfMade(t *testing.T) {
	pdb := readFixture(t, "big") // 147,456 bytes: 5 blocks of 32 KiB
	rnd := make([]byte, 70000)   // incompressible: blocks larger than their input
	r := rand.New(rand.NewPCG(1, 2))
	for i := range rnd {
		rnd[i] = byte(r.Uint32())
	}
	for _, c := range []struct {
		name string
		data []byte
		o    cabOpts
	}{
		{"mszip", pdb, cabOpts{comp: cabCompMSZIP}},
		{"mszip small blocks", pdb, cabOpts{comp: cabCompMSZIP, block: 1000}},
		{"mszip no checksums", pdb, cabOpts{comp: cabCompMSZIP, noSum: true}},
		{"mszip reserve fields", pdb, cabOpts{comp: cabCompMSZIP, reserve: true}},
		{"mszip random", rnd, cabOpts{comp: cabCompMSZIP}},
		{"stored", pdb, cabOpts{comp: cabCompNone}},
		{"stored odd size", pdb[:12345], cabOpts{comp: cabCompNone}},
	} {
		t.Run(c.name, func(t *testing.T) {
			cab := makeCab(t, "f.pdb", c.data, c.o)
			name, out, err := expandBytes(cab, 1<<30)
			require.NoError(t, err)
			assert.Equal(t, "f.pdb", name)
			assert.True(t, bytes.Equal(c.data, out))
		})
	}
}

func TestExpandErrors(t *testing.T) {
	pdb := readFixture(t, "x64-full")
	good := makeCab(t, "f.pdb", pdb, cabOpts{comp: cabCompMSZIP})
	mod := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(good)) }
	le := binary.LittleEndian
	cases := []struct {
		name string
		cab  []byte
		max  int64
		msg  string
		is   error
	}{
		{"LZX", makeCab(t, "f.pdb", pdb, cabOpts{comp: cabCompLZX}), 0, "LZX", ErrLZX},
		{"LZX with window bits", mod(func(b []byte) []byte { le.PutUint16(b[cabHeaderSize+6:], 0x1503); return b }), 0, "LZX", ErrLZX},
		{"Quantum", makeCab(t, "f.pdb", pdb, cabOpts{comp: cabCompQuantum}), 0, "Quantum", nil},
		{"unknown compression", makeCab(t, "f.pdb", pdb, cabOpts{comp: 9}), 0, "unknown compression", nil},
		{"spanned next", makeCab(t, "f.pdb", pdb, cabOpts{comp: cabCompMSZIP, flags: cabFlagNext}), 0, "multi-cabinet", nil},
		{"spanned prev", makeCab(t, "f.pdb", pdb, cabOpts{comp: cabCompMSZIP, flags: cabFlagPrev}), 0, "multi-cabinet", nil},
		{"two files", makeCab(t, "f.pdb", pdb, cabOpts{comp: cabCompMSZIP, files: 2}), 0, "2 files", nil},
		{"bad checksum", makeCab(t, "f.pdb", pdb, cabOpts{comp: cabCompMSZIP, badSum: true}), 0, "checksum", nil},
		{"too large", good, 1000, "expands to 77824 bytes", ErrTooLarge},
		{"truncated", good[:len(good)-100], 0, "truncated", nil},
		{"truncated header", good[:20], 0, "past the end", nil},
		{"not a cabinet", pdb, 0, "no MSCF", nil},
		{"version 2", mod(func(b []byte) []byte { b[25] = 2; return b }), 0, "version", nil},
		{"no CK", mod(func(b []byte) []byte {
			i := bytes.Index(b, []byte("CK"))
			b[i] = 'X'
			le.PutUint32(b[i-8:], 0) // no checksum
			return b
		}), 0, `"CK"`, nil},
		{"huge block count claim", mod(func(b []byte) []byte { le.PutUint32(b[44:], 0x7fffffff); return b }), 1 << 40, "cannot hold", nil},
		{"file offset in folder", mod(func(b []byte) []byte { le.PutUint32(b[48:], 5); return b }), 0, "starts at offset", nil},
		{"file in folder 0xFFFD", mod(func(b []byte) []byte { le.PutUint16(b[52:], 0xFFFD); return b }), 0, "folder 0xfffd", nil},
		{"file entry outside", mod(func(b []byte) []byte { le.PutUint32(b[16:], uint32(len(b))); return b }), 0, "past the end", nil},
		{"file shorter than blocks say", mod(func(b []byte) []byte { le.PutUint32(b[44:], uint32(len(pdb)+1)); return b }), 0, "data blocks hold", nil},
		{"empty block", mod(func(b []byte) []byte {
			i := bytes.Index(b, []byte("CK"))
			le.PutUint16(b[i-2:], 0)
			le.PutUint32(b[i-8:], 0)
			return b
		}), 0, "expands to 0 bytes", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			max := c.max
			if max == 0 {
				max = 1 << 30
			}
			_, _, err := expandBytes(c.cab, max)
			require.Error(t, err)
			var ce *CabinetError
			assert.True(t, errors.As(err, &ce), "%T %v", err, err)
			assert.Contains(t, err.Error(), c.msg)
			if c.is != nil {
				assert.ErrorIs(t, err, c.is)
			}
		})
	}
}

// TestExpandRandomDamage: damaged cabinets give errors, never panics,
// and never more output than the header allows.
func TestExpandRandomDamage(t *testing.T) {
	cab, err := os.ReadFile(gcabFixture)
	require.NoError(t, err)
	r := rand.New(rand.NewPCG(3, 4))
	for range 2000 {
		b := bytes.Clone(cab)
		for range 1 + r.IntN(4) {
			b[r.IntN(len(b))] = byte(r.Uint32())
		}
		if r.IntN(4) == 0 {
			b = b[:r.IntN(len(b))]
		}
		_, out, _ := expandBytes(b, 1<<20)
		assert.LessOrEqual(t, len(out), 1<<20)
	}
}

func TestExpandZip(t *testing.T) {
	pdb := readFixture(t, "x64-full")
	mk := func(names ...string) []byte {
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		for _, n := range names {
			w, err := zw.Create(n)
			require.NoError(t, err)
			_, err = w.Write(pdb)
			require.NoError(t, err)
		}
		require.NoError(t, zw.Close())
		return buf.Bytes()
	}
	z := mk("x64-full.pdb")
	var out bytes.Buffer
	name, n, err := expandZip(bytes.NewReader(z), int64(len(z)), 1<<30, &out)
	require.NoError(t, err)
	assert.Equal(t, "x64-full.pdb", name)
	assert.Equal(t, int64(len(pdb)), n)
	assert.True(t, bytes.Equal(pdb, out.Bytes()))

	_, _, err = expandZip(bytes.NewReader(z), int64(len(z)), 1000, &out)
	assert.ErrorIs(t, err, ErrTooLarge)
	z2 := mk("a.pdb", "b.pdb")
	_, _, err = expandZip(bytes.NewReader(z2), int64(len(z2)), 1<<30, &out)
	assert.ErrorContains(t, err, "2 files")
	_, _, err = expandZip(bytes.NewReader(z[:50]), 50, 1<<30, &out)
	assert.Error(t, err)
}

// zipWriter writes a ZIP archive holding one file to w.
func zipWriter(t testing.TB, w *bytes.Buffer, name string, data []byte) *zip.Writer {
	t.Helper()
	zw := zip.NewWriter(w)
	f, err := zw.Create(name)
	require.NoError(t, err)
	_, err = f.Write(data)
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	return zw
}
