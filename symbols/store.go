package symbols

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"unicode/utf8"
)

// StoreKey returns the directory name a symbol store files the PDB of
// this identity under: the GUID as 32 upper-case hex digits (Data1,
// Data2 and Data3 as numbers, then Data4, as in the registry form
// without dashes) followed by the age in upper-case hex without
// leading zeros. Example: "A553641056CCCAB84C4C44205044422E1".
func (id Identity) StoreKey() string {
	g := id.GUID
	return fmt.Sprintf("%08X%04X%04X%X%s",
		binary.LittleEndian.Uint32(g[0:]), binary.LittleEndian.Uint16(g[4:]),
		binary.LittleEndian.Uint16(g[6:]), g[8:], strings.ToUpper(strconv.FormatUint(uint64(id.Age), 16)))
}

// compressedName returns the name of the compressed form of a store
// file: the last character (rune) replaced by '_' (ntkrnlmp.pd_).
func compressedName(name string) string {
	_, n := utf8.DecodeLastRuneInString(name)
	return name[:len(name)-n] + "_"
}

// twoTierPrefix is the first directory level of a two-tier store
// (index2.txt at the root): the first two characters (runes) of the lower-cased
// file name, or one when the second is a dot.
func twoTierPrefix(name string) string {
	l := strings.ToLower(name)
	_, n1 := utf8.DecodeRuneInString(l)
	r2, n2 := utf8.DecodeRuneInString(l[n1:])
	if n2 == 0 || r2 == '.' {
		return l[:n1]
	}
	return l[:n1+n2]
}

// isTwoTier reports whether the store at root uses the two-tier layout.
func isTwoTier(root string) bool {
	_, err := os.Stat(filepath.Join(root, "index2.txt"))
	return err == nil
}

// storeDir returns the directory that holds the files for name and key
// in the store at root, in the store's layout.
func storeDir(root, name, key string) string {
	if isTwoTier(root) {
		return filepath.Join(root, twoTierPrefix(name), name, key)
	}
	return filepath.Join(root, name, key)
}

// keyDirCandidates lists the directories of a local store where the
// files for name and key may be, in the order to try: the canonical
// one, then case variants that other tools write on case-sensitive
// file systems (lower-case age, SSQP's all-lower-case keys and names).
func keyDirCandidates(root, name, key string) []string {
	base := root
	if isTwoTier(root) {
		base = filepath.Join(root, twoTierPrefix(name))
	}
	names := []string{name}
	if l := strings.ToLower(name); l != name {
		names = append(names, l)
	}
	keys := []string{key}
	if k := key[:32] + strings.ToLower(key[32:]); k != key {
		keys = append(keys, k)
	}
	if k := strings.ToLower(key); k != key {
		keys = append(keys, k)
	}
	var dirs []string
	for _, n := range names {
		for _, k := range keys {
			dirs = append(dirs, filepath.Join(base, n, k))
		}
	}
	return dirs
}

// fileKind is what a file holds, judged by its first bytes.
type fileKind uint8

const (
	kindUnknown fileKind = iota
	kindPDB
	kindMSFZ
	kindCab
	kindZip
)

func (k fileKind) String() string {
	switch k {
	case kindPDB:
		return "PDB"
	case kindMSFZ:
		return "MSFZ PDB"
	case kindCab:
		return "cabinet"
	case kindZip:
		return "ZIP"
	}
	return "unknown"
}

// sniffLen is how many leading bytes sniff needs.
const sniffLen = 32

// sniff classifies a file by its first bytes.
func sniff(b []byte) fileKind {
	switch {
	case bytes.HasPrefix(b, msfMagic):
		return kindPDB
	case bytes.HasPrefix(b, msfzMagic):
		return kindMSFZ
	case bytes.HasPrefix(b, cabMagic):
		return kindCab
	case bytes.HasPrefix(b, zipMagic):
		return kindZip
	}
	return kindUnknown
}

// ErrNotSymbolFile is wrapped by the error for a file or download that
// is neither a PDB nor a compressed PDB: an HTML error or login page
// from a server, an image, a truncated file.
var ErrNotSymbolFile = errors.New("not a PDB or a compressed PDB")

// notSymbolFile describes the first bytes of a refused file.
func notSymbolFile(head []byte) error {
	if len(head) == 0 {
		return fmt.Errorf("%w: empty", ErrNotSymbolFile)
	}
	return fmt.Errorf("%w: starts with %q", ErrNotSymbolFile, truncate(string(head), 24))
}

// sniffFile reads the first bytes of f and classifies them.
func sniffFile(f io.ReaderAt) (fileKind, []byte, error) {
	head := make([]byte, sniffLen)
	n, err := f.ReadAt(head, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return kindUnknown, nil, err
	}
	return sniff(head[:n]), head[:n], nil
}

// maxPtrSize bounds a file.ptr; real ones hold one short line.
const maxPtrSize = 64 << 10

// filePtr is the content of a file.ptr.
type filePtr struct {
	path string // PATH: target, "" for MSG:
	msg  string // MSG: text
}

// parseFilePtr parses a file.ptr: "PATH:<location>" or "MSG:<text>".
func parseFilePtr(b []byte) (filePtr, error) {
	s := strings.TrimSpace(strings.TrimPrefix(string(b), "\ufeff"))
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = s[:i]
	}
	switch {
	case len(s) >= 5 && strings.EqualFold(s[:5], "PATH:"):
		p := strings.TrimSpace(s[5:])
		if p == "" || strings.ContainsRune(p, 0) {
			return filePtr{}, fmt.Errorf("file.ptr: bad PATH %q", truncate(p, 80))
		}
		return filePtr{path: p}, nil
	case len(s) >= 4 && strings.EqualFold(s[:4], "MSG:"):
		return filePtr{msg: strings.TrimSpace(s[4:])}, nil
	}
	return filePtr{}, fmt.Errorf("file.ptr: neither PATH: nor MSG: (%q)", truncate(s, 80))
}

// resolvePtrPath turns the PATH of a local store's file.ptr into a path
// on this machine: absolute paths as they are, relative ones from the
// store root (as PerfView does). Off Windows, backslashes are taken as
// separators, and drive and UNC paths cannot be followed.
func resolvePtrPath(root, p string) (string, error) {
	if runtime.GOOS != "windows" {
		if checkDir(p, runtime.GOOS) != "" {
			return "", fmt.Errorf("file.ptr points to %q, a Windows path that cannot be opened on %s", p, runtime.GOOS)
		}
		p = strings.ReplaceAll(p, `\`, "/")
	}
	if isURL(p) {
		return "", fmt.Errorf("file.ptr points to the URL %q; only servers' file.ptr may name URLs", p)
	}
	if filepath.IsAbs(p) {
		return filepath.Clean(p), nil
	}
	return filepath.Join(root, p), nil
}

// isRegular reports whether path names a regular file (not a
// directory, device or FIFO, which could block or never end).
func isRegular(path string) (bool, error) {
	st, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return false, nil
		}
		return false, err
	}
	if !st.Mode().IsRegular() {
		return false, fmt.Errorf("%s: not a regular file (%v)", path, st.Mode().Type())
	}
	return true, nil
}

// isDir reports whether path is an existing directory.
func isDir(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.IsDir()
}
