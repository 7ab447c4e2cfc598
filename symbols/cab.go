package symbols

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Compressed store entries (NAME.pd_) are Microsoft cabinet files
// ("MSCF") holding one file, or, from newer "symstore /compress ZIP",
// ZIP archives. This file expands them: cabinets with one folder and
// one file, stored or MSZIP-compressed; ZIP archives with one file.

// ErrLZX is wrapped by the *CabinetError for an LZX-compressed
// cabinet, which symstore.exe produces and this package does not
// decode. Expand such a file with cabextract or expand.exe.
var ErrLZX = errors.New("LZX-compressed cabinet is not supported (expand it with cabextract or expand.exe)")

// ErrTooLarge is wrapped by the error for a download or an expanded
// file larger than the size limit (Options.MaxSize).
var ErrTooLarge = errors.New("larger than the size limit")

// CabinetError reports a compressed store entry (cabinet or ZIP) that
// is corrupt or in a form this package does not expand.
type CabinetError struct {
	// Offset is the file offset of the bad bytes, or -1.
	Offset int64
	Msg    string
	// Err is ErrLZX, ErrTooLarge, a decompression error or nil.
	Err error
}

func (e *CabinetError) Error() string {
	s := "cabinet: "
	if e.Offset >= 0 {
		s += fmt.Sprintf("file offset %#x: ", e.Offset)
	}
	s += e.Msg
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *CabinetError) Unwrap() error { return e.Err }

var (
	cabMagic = []byte("MSCF")
	zipMagic = []byte("PK\x03\x04")
)

const (
	cabHeaderSize   = 36
	cabFlagPrev     = 0x0001
	cabFlagNext     = 0x0002
	cabFlagReserve  = 0x0004
	cabFolderSize   = 8
	cabFileSize     = 16
	cabDataHdrSize  = 8
	cabCompNone     = 0
	cabCompMSZIP    = 1
	cabCompQuantum  = 2
	cabCompLZX      = 3
	mszipBlockMax   = 32768
	mszipWindowSize = 32768
	cabMaxName      = 1024
)

// expandCab writes the single file of the cabinet r (size bytes) to w
// and returns the file's stored name and size. The file may be at most
// maxOut bytes.
func expandCab(r io.ReaderAt, size, maxOut int64, w io.Writer) (name string, n int64, err error) {
	bad := func(off int64, format string, args ...any) error {
		return &CabinetError{Offset: off, Msg: fmt.Sprintf(format, args...)}
	}
	read := func(off int64, n int, what string) ([]byte, error) {
		if off < 0 || off+int64(n) > size {
			return nil, bad(off, "%s (%d bytes) runs past the end of the %d-byte file", what, n, size)
		}
		b := make([]byte, n)
		if _, err := r.ReadAt(b, off); err != nil {
			return nil, &CabinetError{Offset: off, Msg: "reading " + what, Err: err}
		}
		return b, nil
	}
	le := binary.LittleEndian

	h, err := read(0, cabHeaderSize, "header")
	if err != nil {
		return "", 0, err
	}
	if !bytes.Equal(h[:4], cabMagic) {
		return "", 0, bad(0, "no MSCF signature")
	}
	cbCabinet := int64(le.Uint32(h[8:]))
	coffFiles := int64(le.Uint32(h[16:]))
	major, minor := h[25], h[24]
	cFolders, cFiles, flags := le.Uint16(h[26:]), le.Uint16(h[28:]), le.Uint16(h[30:])
	switch {
	case cbCabinet > size:
		return "", 0, bad(8, "header says %d bytes, the file has %d (truncated?)", cbCabinet, size)
	case major != 1:
		return "", 0, bad(24, "cabinet format version %d.%d (want 1.x)", major, minor)
	case flags&(cabFlagPrev|cabFlagNext) != 0:
		return "", 0, bad(30, "part of a multi-cabinet set (flags %#x); it cannot be expanded alone", flags)
	case cFolders != 1 || cFiles != 1:
		return "", 0, bad(26, "%d folders and %d files (a compressed symbol file holds exactly one of each)", cFolders, cFiles)
	}
	size = cbCabinet
	off := int64(cabHeaderSize)
	var folderResv, dataResv int64
	if flags&cabFlagReserve != 0 {
		rb, err := read(off, 4, "reserve sizes")
		if err != nil {
			return "", 0, err
		}
		off += 4 + int64(le.Uint16(rb))
		folderResv, dataResv = int64(rb[2]), int64(rb[3])
	}

	fb, err := read(off, cabFolderSize, "folder entry")
	if err != nil {
		return "", 0, err
	}
	folderOff := off
	dataOff := int64(le.Uint32(fb))
	cCFData := int(le.Uint16(fb[4:]))
	comp := le.Uint16(fb[6:]) & 0x000F
	_ = folderResv // the folder's reserved bytes follow; nothing in them is used
	switch comp {
	case cabCompNone, cabCompMSZIP:
	case cabCompLZX:
		return "", 0, &CabinetError{Offset: folderOff + 6, Msg: "LZX compression", Err: ErrLZX}
	case cabCompQuantum:
		return "", 0, bad(folderOff+6, "Quantum compression is not supported")
	default:
		return "", 0, bad(folderOff+6, "unknown compression type %d", comp)
	}

	fe, err := read(coffFiles, cabFileSize, "file entry")
	if err != nil {
		return "", 0, err
	}
	cbFile := int64(le.Uint32(fe))
	if uoff := le.Uint32(fe[4:]); uoff != 0 {
		return "", 0, bad(coffFiles+4, "the file starts at offset %d of its folder (want 0)", uoff)
	}
	if ifo := le.Uint16(fe[8:]); ifo != 0 {
		return "", 0, bad(coffFiles+8, "the file is in folder %#x (want 0; continued from another cabinet?)", ifo)
	}
	nameOff := coffFiles + cabFileSize
	nb, err := read(nameOff, int(min(cabMaxName, max(0, size-nameOff))), "file name")
	if err != nil {
		return "", 0, err
	}
	i := bytes.IndexByte(nb, 0)
	if i < 0 {
		return "", 0, bad(nameOff, "file name not NUL-terminated")
	}
	name = string(nb[:i])
	if cbFile > maxOut {
		return name, 0, &CabinetError{Offset: coffFiles, Msg: fmt.Sprintf("%s expands to %d bytes", name, cbFile), Err: ErrTooLarge}
	}
	// Every block expands to at most 32 KiB: a small cabinet cannot
	// claim a huge block count, and a huge file needs many blocks.
	if int64(cCFData)*mszipBlockMax < cbFile {
		return name, 0, bad(folderOff+4, "%d data blocks cannot hold %d bytes", cCFData, cbFile)
	}

	var hist []byte // the last 32 KiB of output, MSZIP's dictionary
	var fr io.ReadCloser
	br := bytes.NewReader(nil)
	out := make([]byte, mszipBlockMax)
	off = dataOff
	for blk := 0; blk < cCFData && n < cbFile; blk++ {
		dh, err := read(off, cabDataHdrSize, "data block header")
		if err != nil {
			return name, n, err
		}
		csum := le.Uint32(dh)
		cbData, cbUncomp := int(le.Uint16(dh[4:])), int(le.Uint16(dh[6:]))
		blkOff := off
		off += cabDataHdrSize + dataResv
		if cbUncomp == 0 || cbUncomp > mszipBlockMax {
			return name, n, bad(blkOff+6, "block %d expands to %d bytes (want 1 to %d)", blk, cbUncomp, mszipBlockMax)
		}
		data, err := read(off, cbData, "data block")
		if err != nil {
			return name, n, err
		}
		if csum != 0 && dataResv == 0 && cabChecksum(dh[4:8], cabChecksum(data, 0)) != csum {
			return name, n, bad(blkOff, "block %d: checksum mismatch", blk)
		}
		o := out[:cbUncomp]
		switch comp {
		case cabCompNone:
			if cbData != cbUncomp {
				return name, n, bad(blkOff+4, "stored block %d has %d bytes, says %d", blk, cbData, cbUncomp)
			}
			copy(o, data)
		case cabCompMSZIP:
			if len(data) < 2 || data[0] != 'C' || data[1] != 'K' {
				return name, n, bad(off, "MSZIP block %d does not start with \"CK\"", blk)
			}
			br.Reset(data[2:])
			if fr == nil {
				fr = flate.NewReaderDict(br, hist)
			} else if err := fr.(flate.Resetter).Reset(br, hist); err != nil {
				return name, n, err
			}
			if _, err := io.ReadFull(fr, o); err != nil {
				return name, n, &CabinetError{Offset: off, Msg: fmt.Sprintf("MSZIP block %d", blk), Err: err}
			}
			hist = append(hist, o...)
			if len(hist) > mszipWindowSize {
				hist = append(hist[:0], hist[len(hist)-mszipWindowSize:]...)
			}
		}
		off += int64(cbData)
		if rest := cbFile - n; int64(len(o)) > rest {
			o = o[:rest]
		}
		if _, err := w.Write(o); err != nil {
			return name, n, err
		}
		n += int64(len(o))
	}
	if n != cbFile {
		return name, n, bad(folderOff+4, "data blocks hold %d bytes, the file has %d", n, cbFile)
	}
	return name, n, nil
}

// cabChecksum is the cabinet checksum: the XOR of the little-endian
// 32-bit words of b, the last partial word taken big-end first, folded
// into seed.
func cabChecksum(b []byte, seed uint32) uint32 {
	for len(b) >= 4 {
		seed ^= binary.LittleEndian.Uint32(b)
		b = b[4:]
	}
	var ul uint32
	switch len(b) {
	case 3:
		ul = uint32(b[0])<<16 | uint32(b[1])<<8 | uint32(b[2])
	case 2:
		ul = uint32(b[0])<<8 | uint32(b[1])
	case 1:
		ul = uint32(b[0])
	}
	return seed ^ ul
}

// expandZip writes the single file of the ZIP archive r to w.
func expandZip(r io.ReaderAt, size, maxOut int64, w io.Writer) (name string, n int64, err error) {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return "", 0, &CabinetError{Offset: -1, Msg: "ZIP", Err: err}
	}
	if len(zr.File) != 1 {
		return "", 0, &CabinetError{Offset: -1, Msg: fmt.Sprintf("ZIP archive with %d files (want 1)", len(zr.File))}
	}
	f := zr.File[0]
	if f.UncompressedSize64 > uint64(maxOut) {
		return f.Name, 0, &CabinetError{Offset: -1, Msg: fmt.Sprintf("%s expands to %d bytes", f.Name, f.UncompressedSize64), Err: ErrTooLarge}
	}
	rc, err := f.Open()
	if err != nil {
		return f.Name, 0, &CabinetError{Offset: -1, Msg: "ZIP " + f.Name, Err: err}
	}
	defer rc.Close()
	n, err = io.Copy(w, io.LimitReader(rc, maxOut+1))
	if err != nil {
		return f.Name, n, &CabinetError{Offset: -1, Msg: "ZIP " + f.Name, Err: err}
	}
	if n > maxOut {
		return f.Name, n, &CabinetError{Offset: -1, Msg: "ZIP " + f.Name, Err: ErrTooLarge}
	}
	return f.Name, n, nil
}
