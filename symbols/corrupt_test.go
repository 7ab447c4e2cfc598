package symbols

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Damaged input: each case starts from a good fixture, breaks one thing
// and checks the error's type, offset and stream.

func open(b []byte) (*PDB, error) { return OpenPDB(bytes.NewReader(b), int64(len(b))) }

func put32(b []byte, off int, v uint32) { binary.LittleEndian.PutUint32(b[off:], v) }

func TestContainerErrors(t *testing.T) {
	good := readFixture(t, "x64-full")
	blockMap := int(binary.LittleEndian.Uint32(good[52:])) * 4096
	cases := []struct {
		name   string
		mutate func([]byte) []byte
		offset int64 // of the *FormatError
		is     error
	}{
		{"html", func([]byte) []byte { return []byte("<html><body>404</body></html>") }, 0, ErrNotPDB},
		{"empty", func([]byte) []byte { return nil }, 0, ErrNotPDB},
		{"short superblock", func(b []byte) []byte { return b[:40] }, 40, nil},
		{"block size 300", func(b []byte) []byte { put32(b, 32, 300); return b }, 32, nil},
		{"block size 65536", func(b []byte) []byte { put32(b, 32, 65536); return b }, 32, nil},
		{"block size 256", func(b []byte) []byte { put32(b, 32, 256); return b }, 32, nil},
		{"too many blocks", func(b []byte) []byte { put32(b, 40, 1<<30); return b }, 40, nil},
		{"truncated file", func(b []byte) []byte { return b[:len(b)/2] }, 40, nil},
		{"block map at 0", func(b []byte) []byte { put32(b, 52, 0); return b }, 52, nil},
		{"block map past end", func(b []byte) []byte { put32(b, 52, 19); return b }, 52, nil},
		{"directory too big", func(b []byte) []byte { put32(b, 44, 1<<31); return b }, 44, nil},
		{"directory needs two map blocks", func(b []byte) []byte { put32(b, 44, 4096*1025); return b }, 44, nil},
		{"empty directory", func(b []byte) []byte { put32(b, 44, 0); return b }, 44, nil},
		{"directory block past end", func(b []byte) []byte { put32(b, blockMap, 1000); return b }, int64(blockMap), nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := open(c.mutate(bytes.Clone(good)))
			assert.Nil(t, p)
			var fe *FormatError
			require.ErrorAs(t, err, &fe)
			assert.Equal(t, c.offset, fe.Offset, "%v", err)
			assert.Equal(t, -1, fe.Stream)
			if c.is != nil {
				assert.ErrorIs(t, err, c.is)
			}
		})
	}
}

func TestUnsupported(t *testing.T) {
	good := readFixture(t, "x64-full")
	for _, c := range []struct {
		name, magic string
		is          error
	}{
		{"msfz", "Microsoft MSFZ Container\r\n\x1aALD\x00\x00", ErrMSFZ},
		{"pdb 2.0", "Microsoft C/C++ program database 2.00\r\n\x1aJG\x00\x00", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := bytes.Clone(good)
			copy(b, c.magic)
			p, err := open(b)
			assert.Nil(t, p)
			var ue *UnsupportedError
			require.ErrorAs(t, err, &ue)
			assert.Zero(t, ue.Offset)
			if c.is != nil {
				assert.ErrorIs(t, err, c.is)
				assert.Contains(t, err.Error(), "MSFZ")
			}
		})
	}
	// A bare MSFZ header, shorter than an MSF superblock, is still MSFZ.
	_, err := open([]byte("Microsoft MSFZ Container\r\n\x1aALD\x00\x00"))
	assert.ErrorIs(t, err, ErrMSFZ)
}

func TestDirectoryErrors(t *testing.T) {
	streams := fixtureStreams(t, "x64-full")
	t.Run("stream larger than file", func(t *testing.T) {
		b, _ := testMSF{blockSize: 512, streams: streams, editDir: func(sizes []uint32, blocks [][]uint32) {
			sizes[5] = 1 << 30
		}}.write(t)
		_, err := open(b)
		var fe *FormatError
		require.ErrorAs(t, err, &fe)
		assert.Equal(t, -1, fe.Stream)
		assert.Contains(t, fe.Msg, "stream 5 size")
		assert.Positive(t, fe.Offset)
	})
	t.Run("block out of range", func(t *testing.T) {
		b, _ := testMSF{blockSize: 512, streams: streams, editDir: func(sizes []uint32, blocks [][]uint32) {
			blocks[3][1] = 1 << 20
		}}.write(t)
		_, err := open(b)
		var fe *FormatError
		require.ErrorAs(t, err, &fe)
		assert.Contains(t, fe.Msg, "stream 3 uses block 1048576")
	})
	t.Run("too many streams", func(t *testing.T) {
		b, _ := testMSF{blockSize: 512, streams: streams}.write(t)
		dirBlock := binary.LittleEndian.Uint32(b[int(binary.LittleEndian.Uint32(b[52:]))*512:])
		put32(b, int(dirBlock)*512, 1<<30)
		_, err := open(b)
		var fe *FormatError
		require.ErrorAs(t, err, &fe)
		assert.Equal(t, int64(dirBlock)*512, fe.Offset)
	})
	t.Run("block lists past the directory", func(t *testing.T) {
		b, _ := testMSF{blockSize: 512, streams: streams, editDir: func(sizes []uint32, blocks [][]uint32) {
			sizes[len(sizes)-1] += 512 * 4 // four more blocks than listed
		}}.write(t)
		_, err := open(b)
		var fe *FormatError
		require.ErrorAs(t, err, &fe)
		assert.Contains(t, fe.Msg, "block numbers do not fit")
	})
}

// A directory that lists the same blocks for many streams must not make
// the reader allocate more than the file holds.
func TestSharedBlocksBudget(t *testing.T) {
	streams := fixtureStreams(t, "x64-full")
	big := len(streams)
	streams = append(streams, make([]byte, 40*300)) // 12000 zero bytes: valid section headers and OMAP
	for _, slot := range []int{dbgSectionHdr, dbgSectionHdrOrig, dbgOmapToSrc, dbgOmapFromSrc} {
		setDbgStream(t, streams[3], slot, big)
	}
	b, _ := testMSF{blockSize: 512, streams: streams, editDir: func(sizes []uint32, blocks [][]uint32) {
		for i := range blocks[big] {
			blocks[big][i] = blocks[big][0] // every block of the stream is the same block
		}
	}}.write(t)
	require.Greater(t, 4*12000, len(b))
	_, err := open(b)
	var fe *FormatError
	require.ErrorAs(t, err, &fe)
	assert.Contains(t, fe.Msg, "more than the file size")
	assert.Equal(t, big, fe.Stream)
}

// streamCase damages one stream of a fixture; the error must point into
// that stream at the given offset (and the matching file offset).
type streamCase struct {
	name    string
	fixture string
	mutate  func(t *testing.T, s [][]byte) (stream, off int)
	msg     string // substring of the message
}

func TestStreamErrors(t *testing.T) {
	mod0 := func(t *testing.T) Module { return openFixture(t, "x64-full").Modules()[0] }
	// firstSubsection returns the stream offset of the first C13
	// subsection of the given kind in module 0 of x64-full.
	firstSubsection := func(t *testing.T, s []byte, kind uint32) int {
		m := mod0(t)
		for p := int(m.symBytes + m.c11Bytes); p < len(s); {
			if binary.LittleEndian.Uint32(s[p:]) == kind {
				return p
			}
			p += 8 + int(binary.LittleEndian.Uint32(s[p+4:])+3)&^3
		}
		t.Fatalf("no subsection %#x", kind)
		return 0
	}
	cases := []streamCase{
		{"info too short", "x64-full", func(t *testing.T, s [][]byte) (int, int) {
			s[1] = s[1][:20]
			return 1, 20
		}, "need at least 28"},
		{"named stream map string buffer", "x64-full", func(t *testing.T, s [][]byte) (int, int) {
			put32(s[1], 28, 1<<20)
			return 1, 32
		}, "string buffer"},
		{"named stream map capacity", "x64-full", func(t *testing.T, s [][]byte) (int, int) {
			n := int(binary.LittleEndian.Uint32(s[1][28:]))
			put32(s[1], 32+n, 1000) // size > capacity
			return 1, 32 + n
		}, "capacity"},
		{"DBI substream size negative", "x64-full", func(t *testing.T, s [][]byte) (int, int) {
			put32(s[3], 28, 0xFFFFFFF0)
			return 3, 28
		}, "substream size -16"},
		{"DBI module list too long", "x64-full", func(t *testing.T, s [][]byte) (int, int) {
			put32(s[3], 24, uint32(len(s[3])))
			return 3, 24
		}, "substream size"},
		{"module name unterminated", "x64-full", func(t *testing.T, s [][]byte) (int, int) {
			l := int(binary.LittleEndian.Uint32(s[3][24:]))
			for i := dbiHeaderSize + moduleFixedSize; i < dbiHeaderSize+l; i++ {
				s[3][i] = 'A'
			}
			return 3, dbiHeaderSize + moduleFixedSize
		}, "unterminated module name"},
		{"module symbols overrun", "x64-full", func(t *testing.T, s [][]byte) (int, int) {
			put32(s[3], dbiHeaderSize+36, 1<<20) // module 0 SymByteSize
			return 11, len(s[11])
		}, "overrun"},
		{"module stream missing", "x64-full", func(t *testing.T, s [][]byte) (int, int) {
			binary.LittleEndian.PutUint16(s[3][dbiHeaderSize+34:], 200)
			return 200, -1
		}, "missing"},
		{"symbol record length 0", "x64-full", func(t *testing.T, s [][]byte) (int, int) {
			binary.LittleEndian.PutUint16(s[11][4:], 0)
			return 11, 4
		}, "too small"},
		{"symbol record overruns", "x64-full", func(t *testing.T, s [][]byte) (int, int) {
			binary.LittleEndian.PutUint16(s[11][4:], 0xFFF0)
			return 11, 4
		}, "overruns"},
		{"procedure too short", "x64-full", func(t *testing.T, s [][]byte) (int, int) {
			// Module 0: S_OBJNAME at 4 (12 bytes), S_COMPILE3 at 16 (56),
			// S_GPROC32 at 72. Shrink the procedure to 20 bytes and
			// turn the rest into a record of its own.
			binary.LittleEndian.PutUint16(s[11][72:], 18)
			binary.LittleEndian.PutUint16(s[11][92:], 64-20-2)
			binary.LittleEndian.PutUint16(s[11][94:], 0x1111)
			return 11, 72
		}, "too short"},
		{"public name unterminated", "x64-publics", func(t *testing.T, s [][]byte) (int, int) {
			rec := s[8] // symbol records; the first is an S_PUB32 of 40 bytes
			require.Equal(t, uint16(sPub32), binary.LittleEndian.Uint16(rec[2:]))
			for i := pubNameOffset; i < 40; i++ {
				rec[i] = 'A'
			}
			return 8, pubNameOffset
		}, "unterminated name"},
		{"address map entry past records", "x64-publics", func(t *testing.T, s [][]byte) (int, int) {
			psi := s[7]
			hash := int(binary.LittleEndian.Uint32(psi[0:]))
			put32(psi, psiHeaderSize+hash, 1<<20)
			return 7, psiHeaderSize + hash
		}, "past the"},
		{"publics header overrun", "x64-publics", func(t *testing.T, s [][]byte) (int, int) {
			put32(s[7], 4, 1<<20)
			return 7, 0
		}, "overrun"},
		{"section headers not whole", "x64-full", func(t *testing.T, s [][]byte) (int, int) {
			s[10] = s[10][:41]
			return 10, 40
		}, "whole number"},
		{"names signature", "x64-full", func(t *testing.T, s [][]byte) (int, int) {
			put32(s[14], 0, 0x12345678)
			return 14, 0
		}, "signature"},
		{"names size", "x64-full", func(t *testing.T, s [][]byte) (int, int) {
			put32(s[14], 8, 1<<20)
			return 14, 8
		}, "string bytes"},
		{"C13 subsection overrun", "x64-full", func(t *testing.T, s [][]byte) (int, int) {
			m := mod0(t)
			at := int(m.symBytes + m.c11Bytes)
			put32(s[11], at+4, 1<<20)
			return 11, at + 4
		}, "overruns"},
		{"line block size", "x64-full", func(t *testing.T, s [][]byte) (int, int) {
			at := firstSubsection(t, s[11], debugSLines) + 8 + 12 // first file block
			put32(s[11], at+8, 4)
			return 11, at + 8
		}, "line block size"},
		{"line rows overrun", "x64-full", func(t *testing.T, s [][]byte) (int, int) {
			at := firstSubsection(t, s[11], debugSLines) + 8 + 12
			put32(s[11], at+4, 1000)
			return 11, at + 4
		}, "do not fit"},
		{"file checksum reference", "x64-full", func(t *testing.T, s [][]byte) (int, int) {
			at := firstSubsection(t, s[11], debugSLines) + 8 + 12
			put32(s[11], at, 1<<20)
			return 11, at
		}, "checksum"},
		{"file name offset", "x64-full", func(t *testing.T, s [][]byte) (int, int) {
			at := firstSubsection(t, s[11], debugSFileChecksums) + 8
			put32(s[11], at, 1<<20)
			return 14, -1
		}, "string offset"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := fixtureStreams(t, c.fixture)
			stream, off := c.mutate(t, s)
			b, lay := testMSF{blockSize: 512, streams: s, scramble: true}.write(t)
			p, err := open(b)
			assert.Nil(t, p)
			var fe *FormatError
			require.ErrorAs(t, err, &fe)
			assert.Contains(t, fe.Msg, c.msg, "%v", err)
			assert.Equal(t, stream, fe.Stream, "%v", err)
			if off >= 0 {
				assert.Equal(t, int64(off), fe.StreamOffset, "%v", err)
				if off < len(s[stream]) {
					assert.Equal(t, lay.fileOffset(stream, off), fe.Offset, "%v", err)
				} else {
					assert.Equal(t, int64(-1), fe.Offset, "%v", err)
				}
			}
			assert.Contains(t, err.Error(), "pdb: stream")
		})
	}
}

func TestUnsupportedStreams(t *testing.T) {
	for _, c := range []struct {
		name   string
		mutate func(s [][]byte) [][]byte
	}{
		{"old info version", func(s [][]byte) [][]byte { put32(s[1], 0, 19970604); return s }},
		{"old DBI format", func(s [][]byte) [][]byte { put32(s[3], 0, 0); return s }},
		{"old DBI version", func(s [][]byte) [][]byte { put32(s[3], 4, 19970606); return s }},
		{"no DBI", func(s [][]byte) [][]byte { s[3] = nil; return s }},
		{"only two streams", func(s [][]byte) [][]byte { return s[:2] }},
	} {
		t.Run(c.name, func(t *testing.T) {
			b, _ := testMSF{blockSize: 4096, streams: c.mutate(fixtureStreams(t, "x64-full"))}.write(t)
			p, err := open(b)
			assert.Nil(t, p)
			var ue *UnsupportedError
			require.ErrorAs(t, err, &ue, "%v", err)
		})
	}
	t.Run("no info stream", func(t *testing.T) {
		s := fixtureStreams(t, "x64-full")
		s[1] = nil
		b, _ := testMSF{blockSize: 4096, streams: s}.write(t)
		_, err := open(b)
		var fe *FormatError
		require.ErrorAs(t, err, &fe)
		assert.Equal(t, "pdb: no PDB info stream (stream 1)", err.Error())
	})
}

// Without section headers nothing has an address: the PDB opens but
// resolves nothing.
func TestNoSectionHeaders(t *testing.T) {
	s := fixtureStreams(t, "x64-full")
	setDbgStream(t, s[3], dbgSectionHdr, noStream)
	b, _ := testMSF{blockSize: 4096, streams: s}.write(t)
	p := openBytes(t, b)
	assert.Zero(t, p.NumProcedures())
	assert.Zero(t, p.NumPublics())
	_, ok := p.Lookup(0x1000)
	assert.False(t, ok)
}

// Random damage to a small PDB never panics, and an error always comes
// with a nil *PDB and one of the package's error types.
func TestRandomDamage(t *testing.T) {
	base, _ := testMSF{blockSize: 512, streams: minimalStreams(t, "x64-full")}.write(t)
	rng := rand.New(rand.NewPCG(1, 2))
	check := func(b []byte) {
		p, err := open(b)
		if err != nil {
			assert.Nil(t, p)
			var fe *FormatError
			var ue *UnsupportedError
			if !errors.As(err, &fe) && !errors.As(err, &ue) {
				t.Fatalf("unexpected error type %T: %v", err, err)
			}
			return
		}
		for rva := uint32(0x1000); rva < 0x1200; rva += 7 {
			p.Lookup(rva)
		}
	}
	for n := 0; n <= len(base); n += 61 {
		check(base[:n])
	}
	for range 3000 {
		b := bytes.Clone(base)
		for range 1 + rng.IntN(4) {
			i := rng.IntN(len(b))
			switch rng.IntN(3) {
			case 0:
				b[i] = byte(rng.Uint32())
			case 1:
				b[i] = 0xFF
			default:
				b[i] ^= 1 << rng.IntN(8)
			}
		}
		check(b)
	}
}

func TestFormatErrorString(t *testing.T) {
	e := &FormatError{Offset: 0x5040, Stream: 3, StreamName: "DBI", StreamOffset: 0x40, Msg: "bad", Err: errors.New("cause")}
	assert.Equal(t, "pdb: stream 3 (DBI) offset 0x40 (file offset 0x5040): bad: cause", e.Error())
	e = &FormatError{Offset: 0x20, Stream: -1, Msg: "invalid block size 300"}
	assert.Equal(t, "pdb: file offset 0x20: invalid block size 300", e.Error())
	e = &FormatError{Offset: -1, Stream: 7, StreamOffset: 0x10, Msg: "short"}
	assert.Equal(t, "pdb: stream 7 offset 0x10: short", e.Error())
	u := &UnsupportedError{What: "MSFZ compressed PDB container", Err: ErrMSFZ}
	assert.Equal(t, "pdb: file offset 0x0: unsupported: MSFZ compressed PDB container", u.Error())
}

// eofReaderAt returns io.EOF together with a full read at the end of its
// data, as io.ReaderAt allows; shortReaderAt pretends the input is
// shorter than the size the caller passed.
type eofReaderAt struct{ b []byte }

func (r eofReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off >= int64(len(r.b)) {
		return 0, io.EOF
	}
	n := copy(p, r.b[off:])
	if off+int64(n) == int64(len(r.b)) {
		return n, io.EOF
	}
	return n, nil
}

func TestReaderAtEOF(t *testing.T) {
	b := readFixture(t, "x64-full")
	p, err := OpenPDB(eofReaderAt{b}, int64(len(b)))
	require.NoError(t, err)
	assert.Equal(t, 10, p.NumProcedures())

	// The caller claims more bytes than the reader has.
	_, err = OpenPDB(eofReaderAt{b[:len(b)-4096]}, int64(len(b)))
	var fe *FormatError
	require.ErrorAs(t, err, &fe)
	assert.ErrorIs(t, err, io.ErrUnexpectedEOF)

	_, err = OpenPDB(eofReaderAt{b}, -1)
	require.ErrorAs(t, err, &fe)
}

// sparseReaderAt is a huge input that is all zeros except for head.
type sparseReaderAt struct{ head []byte }

func (r sparseReaderAt) ReadAt(p []byte, off int64) (int, error) {
	clear(p)
	if off < int64(len(r.head)) {
		copy(p, r.head[off:])
	}
	return len(p), nil
}

// Sizes near 4 GiB must not wrap around in block arithmetic.
func TestHugeClaims(t *testing.T) {
	head := bytes.Clone(readFixture(t, "x64-full")[:4096])
	put32(head, 40, 1<<21)      // 8 GiB of 4 KiB blocks
	put32(head, 44, 0xFFFFFFFF) // directory size
	_, err := OpenPDB(sparseReaderAt{head}, 1<<33)
	var fe *FormatError
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, int64(44), fe.Offset)
}
