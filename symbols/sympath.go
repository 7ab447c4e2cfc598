package symbols

import (
	"fmt"
	"net/url"
	"os"
	"runtime"
	"strings"
)

// ElementKind says what a symbol path element is.
type ElementKind uint8

const (
	// Folder is a plain directory: the PDB is looked for directly in it
	// (DIR/NAME) and then as a symbol store (DIR/NAME/KEY/NAME).
	Folder ElementKind = iota + 1
	// Server is a "srv*..." or "symsrv*DLL*..." chain: symbol stores
	// searched left to right, optionally ending in an HTTP(S) server.
	// A PDB found in a store or on the server is copied into every
	// store to its left.
	Server
	// Cache is "cache*DIR": DIR is searched as a symbol store where the
	// element stands, and whatever later elements find is copied into it.
	Cache
)

func (k ElementKind) String() string {
	switch k {
	case Folder:
		return "folder"
	case Server:
		return "server"
	case Cache:
		return "cache"
	}
	return "unknown"
}

// PathElement is one ';'-separated element of a symbol path.
type PathElement struct {
	Kind ElementKind
	// Raw is the element as written, for messages.
	Raw string
	// Dir is the directory of a Folder or Cache element. For Cache, ""
	// stands for the default cache (Options.DefaultCache).
	Dir string
	// Stores are the directories of a Server chain, left (downstream,
	// searched first) to right. "" stands for the default cache.
	Stores []string
	// URL is the HTTP(S) upstream at the end of a Server chain, without
	// a trailing slash; "" when the chain has none.
	URL string
	// DLL is the DLL named by "symsrv*DLL*...", "" for "srv*". Only its
	// name is kept: nothing is loaded, the chain works as "srv*".
	DLL string
}

// SymbolPath is a parsed symbol path in _NT_SYMBOL_PATH syntax: its
// elements in search order.
type SymbolPath struct {
	Elements []PathElement
}

// String returns the path in _NT_SYMBOL_PATH syntax.
func (p SymbolPath) String() string {
	parts := make([]string, len(p.Elements))
	for i, e := range p.Elements {
		parts[i] = e.Raw
	}
	return strings.Join(parts, ";")
}

// IsZero reports whether the path has no elements.
func (p SymbolPath) IsZero() bool { return len(p.Elements) == 0 }

// DefaultSymbolServer is Microsoft's public symbol server.
const DefaultSymbolServer = "https://msdl.microsoft.com/download/symbols"

// SymbolPathError reports a symbol path that cannot be parsed.
type SymbolPathError struct {
	Path    string // the whole path
	Element string // the element at fault
	Msg     string
}

func (e *SymbolPathError) Error() string {
	if e.Element == "" {
		return "symbol path: " + e.Msg
	}
	return fmt.Sprintf("symbol path element %q: %s", e.Element, e.Msg)
}

// ParseSymbolPath parses a symbol path in _NT_SYMBOL_PATH syntax:
// elements separated by ';', each one of
//
//	DIR                          a folder
//	srv*[STORE*...]URL           a symbol server with downstream stores
//	srv*STORE[*STORE...]         symbol stores only (the last may be a share)
//	symsrv*symsrv.dll*...        the same as srv*...
//	cache*DIR, cache*            a cache for the elements to its right
//
// Keywords are case-insensitive. An empty store ("srv**URL", a trailing
// '*', "cache*") stands for the default cache; "srv*URL" without a store
// downloads into the default cache too. An HTTP(S) URL may only end a
// srv chain. Empty elements are skipped. Off Windows, drive-letter and
// UNC paths are refused rather than taken as odd relative names.
func ParseSymbolPath(s string) (SymbolPath, error) {
	return parseSymbolPath(s, runtime.GOOS)
}

// SymbolPathFromEnv parses _NT_ALT_SYMBOL_PATH followed by
// _NT_SYMBOL_PATH, the order in which the debuggers search them. Both
// unset gives an empty path and no error.
func SymbolPathFromEnv() (SymbolPath, error) {
	var parts []string
	for _, v := range []string{"_NT_ALT_SYMBOL_PATH", "_NT_SYMBOL_PATH"} {
		if s := os.Getenv(v); strings.TrimSpace(s) != "" {
			parts = append(parts, s)
		}
	}
	return ParseSymbolPath(strings.Join(parts, ";"))
}

// maxSymbolPathLen bounds a symbol path; real ones are a few hundred
// bytes.
const maxSymbolPathLen = 64 << 10

func parseSymbolPath(s, goos string) (SymbolPath, error) {
	var p SymbolPath
	if len(s) > maxSymbolPathLen {
		return p, &SymbolPathError{Path: s, Msg: fmt.Sprintf("longer than %d bytes", maxSymbolPathLen)}
	}
	for raw := range strings.SplitSeq(s, ";") {
		raw = strings.TrimSpace(raw)
		if raw == "" {
			continue
		}
		e, msg := parseElement(raw, goos)
		if msg != "" {
			return SymbolPath{}, &SymbolPathError{Path: s, Element: raw, Msg: msg}
		}
		p.Elements = append(p.Elements, e)
	}
	return p, nil
}

// parseElement parses one element; a non-empty msg says what is wrong.
func parseElement(raw, goos string) (e PathElement, msg string) {
	e.Raw = raw
	kw, rest, star := strings.Cut(raw, "*")
	if !star {
		if isURL(raw) {
			return e, "a URL must follow srv* (write srv*" + raw + ")"
		}
		if m := checkDir(raw, goos); m != "" {
			return e, m
		}
		e.Kind, e.Dir = Folder, raw
		return e, ""
	}
	switch strings.ToLower(kw) {
	case "cache":
		if strings.Contains(rest, "*") {
			return e, "cache* takes one directory"
		}
		if isURL(rest) {
			return e, "cache* takes a directory, not a URL"
		}
		if rest != "" {
			if m := checkDir(rest, goos); m != "" {
				return e, m
			}
		}
		e.Kind, e.Dir = Cache, rest
		return e, ""
	case "symsrv":
		dll, r, ok := strings.Cut(rest, "*")
		if !ok || dll == "" {
			return e, "symsrv* needs a DLL name and at least one store (symsrv*symsrv.dll*STORE)"
		}
		e.DLL, rest = dll, r
	case "srv":
	case "":
		return e, "element starts with '*'"
	default:
		return e, fmt.Sprintf("unknown keyword %q (want srv*, symsrv* or cache*; a directory cannot contain '*')", kw)
	}
	e.Kind = Server
	toks := strings.Split(rest, "*")
	for i, t := range toks {
		t = strings.TrimSpace(t)
		if isURL(t) {
			if i != len(toks)-1 {
				return e, fmt.Sprintf("the URL %q must be the last token of the chain", t)
			}
			u, err := url.Parse(t)
			if err != nil || u.Host == "" {
				return e, fmt.Sprintf("bad URL %q", t)
			}
			if u.RawQuery != "" || u.Fragment != "" {
				return e, fmt.Sprintf("URL %q has a query or fragment", t)
			}
			e.URL = strings.TrimRight(t, "/")
			continue
		}
		if strings.Contains(t, "://") {
			return e, fmt.Sprintf("unsupported URL scheme in %q (want http or https)", t)
		}
		if t != "" {
			if m := checkDir(t, goos); m != "" {
				return e, m
			}
		}
		e.Stores = append(e.Stores, t)
	}
	return e, ""
}

func isURL(s string) bool {
	l := strings.ToLower(s)
	return strings.HasPrefix(l, "http://") || strings.HasPrefix(l, "https://")
}

// checkDir refuses directories that cannot mean what the user meant on
// this OS.
func checkDir(d, goos string) string {
	if strings.ContainsRune(d, 0) {
		return "directory name contains NUL"
	}
	if goos == "windows" {
		return ""
	}
	if len(d) >= 2 && d[1] == ':' && isLetter(d[0]) {
		return fmt.Sprintf("%q is a Windows drive path; it cannot be used on %s", d, goos)
	}
	if strings.HasPrefix(d, `\\`) {
		return fmt.Sprintf("%q is a Windows UNC path; it cannot be used on %s (mount the share and name the mount point)", d, goos)
	}
	return ""
}

func isLetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
