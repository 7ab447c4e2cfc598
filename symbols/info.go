package symbols

import (
	"encoding/binary"
	"fmt"
	"strings"
)

// The PDB info stream (stream 1): version, signature, age, GUID, the
// named stream map and feature codes.

const (
	infoStreamIndex = 1

	pdbImplVC70 = 20000404 // the version every PDB 7.0 writer uses

	// Feature code of /DEBUG:FASTLINK PDBs, whose module streams refer
	// to object files instead of holding the symbols. (Others: 20091201
	// VC110, 20140508 VC140, 0x4D544F4E NoTypeMerge.)
	featureMinimalDebugInfo = 0x494E494D
)

type infoStream struct {
	version   uint32
	signature uint32
	age       uint32
	guid      GUID
	named     map[string]int // named streams: "/names", "/LinkInfo", "srcsrv", ...
	features  []uint32
}

func (in *infoStream) hasFeature(f uint32) bool {
	for _, x := range in.features {
		if x == f {
			return true
		}
	}
	return false
}

func parseInfo(s *stream) (*infoStream, error) {
	d := s.data
	if len(d) < 28 {
		return nil, s.errorf(len(d), "info stream is %d bytes, need at least 28", len(d))
	}
	in := &infoStream{
		version:   binary.LittleEndian.Uint32(d[0:]),
		signature: binary.LittleEndian.Uint32(d[4:]),
		age:       binary.LittleEndian.Uint32(d[8:]),
	}
	copy(in.guid[:], d[12:28])
	if in.version < pdbImplVC70 {
		return nil, &UnsupportedError{Offset: s.m.fileOffset(s.idx, 0),
			What: fmt.Sprintf("PDB info stream version %d (before VC 7.0, no GUID)", in.version)}
	}
	end, err := parseNamedStreams(s, 28, in)
	if err != nil {
		return nil, err
	}
	// Then num_name_index (always 0), then feature codes to the end.
	for off := end + 4; off+4 <= len(d); off += 4 {
		in.features = append(in.features, binary.LittleEndian.Uint32(d[off:]))
	}
	return in, nil
}

// maxStreamName is the longest named-stream name parseNamedStreams keeps.
const maxStreamName = 1024

// parseNamedStreams decodes the named stream map at off: the string
// buffer, then a serialized hash table of (string offset, stream) pairs.
// It returns the offset just past the map.
func parseNamedStreams(s *stream, off int, in *infoStream) (int, error) {
	d := s.data
	need := func(at, n int, what string) error {
		if n < 0 || at > len(d) || n > len(d)-at {
			return s.errorf(at, "named stream map: %s: need %d bytes, stream has %d left", what, n, max(len(d)-at, 0))
		}
		return nil
	}
	if err := need(off, 4, "string buffer size"); err != nil {
		return 0, err
	}
	strLen := int(binary.LittleEndian.Uint32(d[off:]) & 0x7FFFFFFF)
	strOff := off + 4
	if err := need(strOff, strLen, "string buffer"); err != nil {
		return 0, err
	}
	strs := d[strOff : strOff+strLen]
	off = strOff + strLen
	if err := need(off, 8, "hash table header"); err != nil {
		return 0, err
	}
	size := binary.LittleEndian.Uint32(d[off:])
	capacity := binary.LittleEndian.Uint32(d[off+4:])
	if size > capacity {
		return 0, s.errorf(off, "named stream map: %d entries in a table of capacity %d", size, capacity)
	}
	off += 8
	// Present and deleted bit vectors: a word count, then the words.
	for _, what := range []string{"present bit vector", "deleted bit vector"} {
		if err := need(off, 4, what); err != nil {
			return 0, err
		}
		words := binary.LittleEndian.Uint32(d[off:])
		if uint64(words)*4 > uint64(len(d)) {
			return 0, s.errorf(off, "named stream map: %s of %d words", what, words)
		}
		if err := need(off+4, int(words)*4, what); err != nil {
			return 0, err
		}
		off += 4 + int(words)*4
	}
	if uint64(size)*8 > uint64(len(d)) {
		return 0, s.errorf(off, "named stream map: %d entries", size)
	}
	if err := need(off, int(size)*8, "entries"); err != nil {
		return 0, err
	}
	in.named = make(map[string]int, min(size, 64))
	// Names are substrings of one copy of the buffer. A valid map names
	// each offset once; entries that repeat an offset are skipped, and
	// names longer than maxStreamName are ignored (real ones are short:
	// "/names", "/LinkInfo", "/src/headerblock"), so that a map whose
	// entries all point into one long name costs linear time.
	all := string(strs)
	seen := make(map[uint32]struct{}, min(size, 64))
	for i := 0; i < int(size); i, off = i+1, off+8 {
		k := binary.LittleEndian.Uint32(d[off:])
		v := binary.LittleEndian.Uint32(d[off+4:])
		if uint64(k) >= uint64(len(strs)) {
			return 0, s.errorf(off, "named stream map: name offset %d outside the %d-byte string buffer", k, len(strs))
		}
		if _, dup := seen[k]; dup {
			continue
		}
		seen[k] = struct{}{}
		rest := all[k:min(len(all), int(k)+maxStreamName+1)]
		n := strings.IndexByte(rest, 0)
		if n < 0 {
			if len(rest) > maxStreamName {
				continue // absurdly long; not a stream we read
			}
			return 0, s.errorf(strOff+int(k), "named stream map: unterminated name")
		}
		in.named[rest[:n]] = int(v)
	}
	return off, nil
}

// cstring returns b up to (not including) the first NUL, and whether
// there was one.
func cstring(b []byte) ([]byte, bool) {
	for i, c := range b {
		if c == 0 {
			return b[:i], true
		}
	}
	return b, false
}
