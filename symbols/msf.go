package symbols

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// The MSF ("multi-stream file") container of PDB 7.0: a superblock, a
// stream directory found through a block map, and numbered streams made
// of fixed-size blocks in arbitrary order.

var (
	msfMagic  = []byte("Microsoft C/C++ MSF 7.00\r\n\x1aDS\x00\x00\x00")
	msfzMagic = []byte("Microsoft MSFZ Container\r\n\x1aALD\x00\x00")
	pdb2Magic = []byte("Microsoft C/C++ program database 2.00\r\n\x1aJG\x00\x00")
)

const (
	superBlockSize = 56 // magic(32) + 6 u32
	nilStreamSize  = ^uint32(0)
	minBlockSize   = 512
	maxBlockSize   = 32768
	noStream       = 0xFFFF // a u16 stream number meaning "none"
)

// msf is an open MSF container. Streams are read only when asked for.
type msf struct {
	r         io.ReaderAt
	size      int64
	blockSize uint32
	numBlocks uint32

	sizes  []uint32 // per stream; nilStreamSize for nil streams
	first  []uint32 // per stream: index of its first block in blocks
	blocks []uint32 // all streams' block numbers, in directory order

	// budget is how many more stream bytes may be materialized. It starts
	// at the file size: valid streams never share blocks, so the streams
	// of a valid file add up to less than the file. A directory that
	// lists the same blocks for many streams runs out of budget instead
	// of multiplying memory use.
	budget int64
}

func openMSF(r io.ReaderAt, size int64) (*msf, error) {
	if size < 0 {
		return nil, &FormatError{Offset: 0, Stream: -1, Msg: "negative file size"}
	}
	var hdr [64]byte
	h := hdr[:min(int64(len(hdr)), size)]
	if err := readFull(r, h, 0); err != nil {
		return nil, &FormatError{Offset: 0, Stream: -1, Msg: "reading superblock", Err: err}
	}
	switch {
	case bytes.HasPrefix(h, msfzMagic):
		return nil, &UnsupportedError{Offset: 0, What: "MSFZ compressed PDB container", Err: ErrMSFZ}
	case bytes.HasPrefix(h, pdb2Magic):
		return nil, &UnsupportedError{Offset: 0, What: "PDB 2.00 (\"JG\") format"}
	case !bytes.HasPrefix(h, msfMagic):
		return nil, &FormatError{Offset: 0, Stream: -1, Msg: "bad MSF 7.00 signature", Err: ErrNotPDB}
	case len(h) < superBlockSize:
		return nil, &FormatError{Offset: int64(len(h)), Stream: -1, Msg: "file ends inside the superblock"}
	}
	m := &msf{r: r, size: size, budget: size}
	m.blockSize = binary.LittleEndian.Uint32(h[32:])
	m.numBlocks = binary.LittleEndian.Uint32(h[40:])
	dirBytes := binary.LittleEndian.Uint32(h[44:])
	blockMapAddr := binary.LittleEndian.Uint32(h[52:])

	bs := m.blockSize
	if bs < minBlockSize || bs > maxBlockSize || bs&(bs-1) != 0 {
		return nil, &FormatError{Offset: 32, Stream: -1, Msg: fmt.Sprintf("invalid block size %d", bs)}
	}
	if int64(m.numBlocks)*int64(bs) > size {
		return nil, &FormatError{Offset: 40, Stream: -1,
			Msg: fmt.Sprintf("%d blocks of %d bytes need %d bytes, file has %d", m.numBlocks, bs, int64(m.numBlocks)*int64(bs), size)}
	}
	if blockMapAddr == 0 || blockMapAddr >= m.numBlocks {
		return nil, &FormatError{Offset: 52, Stream: -1, Msg: fmt.Sprintf("block map address %d outside the file's %d blocks", blockMapAddr, m.numBlocks)}
	}
	if dirBytes < 4 || int64(dirBytes) > size {
		return nil, &FormatError{Offset: 44, Stream: -1, Msg: fmt.Sprintf("invalid stream directory size %d", dirBytes)}
	}
	nDirBlocks := m.blocksFor(dirBytes)
	if nDirBlocks > bs/4 {
		return nil, &FormatError{Offset: 44, Stream: -1, Msg: fmt.Sprintf("stream directory of %d bytes needs more than one block map block", dirBytes)}
	}

	// The block map: the directory's block numbers.
	mapOff := int64(blockMapAddr) * int64(bs)
	mapBuf := make([]byte, 4*nDirBlocks)
	if err := readFull(r, mapBuf, mapOff); err != nil {
		return nil, &FormatError{Offset: mapOff, Stream: -1, Msg: "reading block map", Err: err}
	}
	dirBlocks := make([]uint32, nDirBlocks)
	for i := range dirBlocks {
		b := binary.LittleEndian.Uint32(mapBuf[4*i:])
		if b == 0 || b >= m.numBlocks {
			return nil, &FormatError{Offset: mapOff + 4*int64(i), Stream: -1, Msg: fmt.Sprintf("directory block %d outside the file's %d blocks", b, m.numBlocks)}
		}
		dirBlocks[i] = b
	}
	dir := make([]byte, dirBytes)
	if err := m.readBlocks(dir, dirBlocks); err != nil {
		return nil, err
	}
	m.budget -= int64(dirBytes)
	if err := m.parseDirectory(dir, dirBlocks); err != nil {
		return nil, err
	}
	return m, nil
}

// parseDirectory decodes NumStreams, the stream sizes and the block
// lists. dirBlocks locates directory bytes in the file for errors.
func (m *msf) parseDirectory(dir []byte, dirBlocks []uint32) error {
	bs := m.blockSize
	dirErr := func(off int, msg string) error {
		fo := int64(dirBlocks[uint32(off)/bs])*int64(bs) + int64(uint32(off)%bs)
		return &FormatError{Offset: fo, Stream: -1, Msg: "stream directory: " + msg}
	}
	numStreams := binary.LittleEndian.Uint32(dir)
	if uint64(numStreams) > uint64(len(dir)-4)/4 {
		return dirErr(0, fmt.Sprintf("%d streams do not fit in %d bytes", numStreams, len(dir)))
	}
	m.sizes = make([]uint32, numStreams)
	m.first = make([]uint32, numStreams)
	pos := 4 + 4*int(numStreams)
	var total uint64
	for i := range m.sizes {
		s := binary.LittleEndian.Uint32(dir[4+4*i:])
		m.sizes[i] = s
		if s == nilStreamSize {
			continue
		}
		if uint64(s) > uint64(m.numBlocks)*uint64(bs) {
			return dirErr(4+4*i, fmt.Sprintf("stream %d size %d exceeds the file's %d blocks", i, s, m.numBlocks))
		}
		total += uint64(m.blocksFor(s))
	}
	if total > uint64(len(dir)-pos)/4 {
		return dirErr(pos, fmt.Sprintf("%d block numbers do not fit in the directory", total))
	}
	m.blocks = make([]uint32, total)
	k := 0
	for i, s := range m.sizes {
		m.first[i] = uint32(k)
		if s == nilStreamSize {
			continue
		}
		for range m.blocksFor(s) {
			b := binary.LittleEndian.Uint32(dir[pos:])
			if b == 0 || b >= m.numBlocks {
				return dirErr(pos, fmt.Sprintf("stream %d uses block %d outside the file's %d blocks", i, b, m.numBlocks))
			}
			m.blocks[k] = b
			k++
			pos += 4
		}
	}
	return nil
}

// blocksFor returns the number of blocks that hold n bytes.
func (m *msf) blocksFor(n uint32) uint32 {
	return uint32((uint64(n) + uint64(m.blockSize) - 1) / uint64(m.blockSize))
}

// readBlocks fills dst from the given blocks in order, coalescing runs
// of consecutive blocks into one ReadAt.
func (m *msf) readBlocks(dst []byte, blocks []uint32) error {
	bs := int(m.blockSize)
	if uint64(len(blocks))*uint64(bs) < uint64(len(dst)) {
		return &FormatError{Offset: -1, Stream: -1, Msg: fmt.Sprintf("%d blocks cannot hold %d bytes", len(blocks), len(dst))}
	}
	for i := 0; len(dst) > 0; {
		run := 1
		for i+run < len(blocks) && blocks[i+run] == blocks[i]+uint32(run) && run*bs < len(dst) {
			run++
		}
		n := min(run*bs, len(dst))
		off := int64(blocks[i]) * int64(bs)
		if err := readFull(m.r, dst[:n], off); err != nil {
			return &FormatError{Offset: off, Stream: -1, Msg: "reading block", Err: err}
		}
		dst = dst[n:]
		i += run
	}
	return nil
}

// readFull reads len(b) bytes at off. A ReaderAt may report io.EOF
// along with a full read at the end of its input; that is success.
func readFull(r io.ReaderAt, b []byte, off int64) error {
	n, err := r.ReadAt(b, off)
	if n == len(b) {
		return nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return err
}

// present reports whether stream i exists and is not a nil stream.
func (m *msf) present(i int) bool {
	return i >= 0 && i < len(m.sizes) && m.sizes[i] != nilStreamSize
}

// fileOffset maps an offset inside stream i to an absolute file offset,
// or -1 if there is no such byte.
func (m *msf) fileOffset(i int, off int64) int64 {
	if !m.present(i) || off < 0 || off >= int64(m.sizes[i]) {
		return -1
	}
	bs := int64(m.blockSize)
	return int64(m.blocks[int64(m.first[i])+off/bs])*bs + off%bs
}

// stream is the content of one MSF stream, read into memory, with what
// is needed to report errors against file offsets.
type stream struct {
	m    *msf
	idx  int
	name string
	data []byte
}

// readStream reads stream i in full. name says what the stream is, for
// errors. A nil or missing stream is an error; callers check present
// first where a stream is optional.
func (m *msf) readStream(i int, name string) (*stream, error) {
	if i < 0 || i >= len(m.sizes) {
		return nil, &FormatError{Offset: -1, Stream: -1, Msg: fmt.Sprintf("%s stream %d does not exist (directory has %d streams)", name, i, len(m.sizes))}
	}
	size := m.sizes[i]
	if size == nilStreamSize {
		return nil, &FormatError{Offset: -1, Stream: -1, Msg: fmt.Sprintf("%s stream %d is a nil stream", name, i)}
	}
	if int64(size) > m.budget {
		return nil, &FormatError{Offset: -1, Stream: i, StreamName: name,
			Msg: "streams add up to more than the file size (blocks shared between streams)"}
	}
	m.budget -= int64(size)
	s := &stream{m: m, idx: i, name: name, data: make([]byte, size)}
	nb := m.blocksFor(size)
	if err := m.readBlocks(s.data, m.blocks[m.first[i]:m.first[i]+nb]); err != nil {
		var fe *FormatError
		if errors.As(err, &fe) {
			fe.Stream, fe.StreamName = i, name
		}
		return nil, err
	}
	return s, nil
}

// errorf returns a *FormatError for offset off inside the stream.
func (s *stream) errorf(off int, format string, args ...any) *FormatError {
	return &FormatError{
		Offset:       s.m.fileOffset(s.idx, int64(off)),
		Stream:       s.idx,
		StreamName:   s.name,
		StreamOffset: int64(off),
		Msg:          fmt.Sprintf(format, args...),
	}
}
