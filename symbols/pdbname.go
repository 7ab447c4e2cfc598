package symbols

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// ErrBadName is wrapped by the error for a PDB name that cannot be
// used to build a path or URL.
var ErrBadName = errors.New("unusable PDB file name")

// Limits on PDB names from traces. A file name component is at most
// 255 bytes on the file systems that matter; a recorded build path may
// be longer (it is cut to its base name), but not absurdly so.
const (
	maxPDBNameLen = 255
	maxPDBPathLen = 4096
)

// CleanPDBName returns the base name of a PDB path taken from an
// untrusted source (the DbgID_RSDS event of a trace, an image's RSDS
// record), or an error wrapping ErrBadName. The base name is what
// follows the last '/' or '\'. It is refused when it is empty, "." or
// "..", longer than 255 bytes (or the whole path longer than 4096),
// not valid UTF-8, or contains NUL or other control characters, a
// colon (drive letters, NTFS streams) or one of <>"|?*, or is a
// Windows device name (CON, NUL, COM1, ...): a name that passes can be
// joined to a directory and put in a URL path without leaving either.
func CleanPDBName(raw string) (string, error) {
	bad := func(why string) (string, error) {
		return "", fmt.Errorf("%w %q: %s", ErrBadName, truncate(raw, 80), why)
	}
	if len(raw) > maxPDBPathLen {
		return bad(fmt.Sprintf("longer than %d bytes", maxPDBPathLen))
	}
	name := raw
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	switch {
	case name == "":
		return bad("empty file name")
	case name == "." || name == "..":
		return bad("not a file name")
	case len(name) > maxPDBNameLen:
		return bad(fmt.Sprintf("file name longer than %d bytes", maxPDBNameLen))
	case !utf8.ValidString(name):
		return bad("not valid UTF-8")
	}
	for _, r := range name {
		switch {
		case r == 0:
			return bad("contains NUL")
		case r < 0x20 || r == 0x7f:
			return bad("contains a control character")
		case r == ':':
			return bad("contains a colon (drive or stream name)")
		case strings.ContainsRune(`<>"|?*`, r):
			return bad(fmt.Sprintf("contains %q", r))
		}
	}
	if name != strings.TrimRight(name, ". ") {
		return bad("ends in a dot or space")
	}
	if isDeviceName(name) {
		return bad("a Windows device name")
	}
	return name, nil
}

// isDeviceName reports whether name (before its first dot) is one of
// the names Windows maps to devices in every directory.
func isDeviceName(name string) bool {
	stem, _, _ := strings.Cut(name, ".")
	stem = strings.ToUpper(strings.TrimRight(stem, " "))
	switch stem {
	case "CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$":
		return true
	}
	port, ok := strings.CutPrefix(stem, "COM")
	if !ok {
		port, ok = strings.CutPrefix(stem, "LPT")
	}
	if !ok {
		return false
	}
	// Windows also reserves the superscript digits ¹²³ as port numbers.
	switch port {
	case "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "\u00b9", "\u00b2", "\u00b3":
		return true
	}
	return false
}

// truncate shortens s for an error message.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
