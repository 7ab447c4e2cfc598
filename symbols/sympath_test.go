package symbols

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseSymbolPath(t *testing.T) {
	srv := func(raw, dll, url string, stores ...string) PathElement {
		return PathElement{Kind: Server, Raw: raw, DLL: dll, URL: url, Stores: stores}
	}
	folder := func(d string) PathElement { return PathElement{Kind: Folder, Raw: d, Dir: d} }
	cache := func(raw, d string) PathElement { return PathElement{Kind: Cache, Raw: raw, Dir: d} }
	const ms = "https://msdl.microsoft.com/download/symbols"
	cases := []struct {
		in   string
		want []PathElement
	}{
		{"", nil},
		{" ; ;", nil},
		{"/sym", []PathElement{folder("/sym")}},
		{"srv*/cache*" + ms, []PathElement{srv("srv*/cache*"+ms, "", ms, "/cache")}},
		{"SRV*/cache*" + ms + "/", []PathElement{srv("SRV*/cache*"+ms+"/", "", ms, "/cache")}},
		{"srv*" + ms, []PathElement{srv("srv*"+ms, "", ms)}},
		{"srv**" + ms, []PathElement{srv("srv**"+ms, "", ms, "")}},
		{"srv*/c1*/c2*http://sym.example/s", []PathElement{srv("srv*/c1*/c2*http://sym.example/s", "", "http://sym.example/s", "/c1", "/c2")}},
		{"srv*/c1*/share", []PathElement{srv("srv*/c1*/share", "", "", "/c1", "/share")}},
		{"srv*/c1*", []PathElement{srv("srv*/c1*", "", "", "/c1", "")}},
		{"srv*", []PathElement{srv("srv*", "", "", "")}},
		{"symsrv*symsrv.dll*/c*" + ms, []PathElement{srv("symsrv*symsrv.dll*/c*"+ms, "symsrv.dll", ms, "/c")}},
		{"SymSrv*other.dll*/c", []PathElement{srv("SymSrv*other.dll*/c", "other.dll", "", "/c")}},
		{"cache*/c", []PathElement{cache("cache*/c", "/c")}},
		{"cache*", []PathElement{cache("cache*", "")}},
		{"CACHE*/c;/sym ; srv*" + ms + ";", []PathElement{
			cache("CACHE*/c", "/c"), folder("/sym"), srv("srv*"+ms, "", ms),
		}},
		{"relative/dir", []PathElement{folder("relative/dir")}},
	}
	for _, c := range cases {
		p, err := parseSymbolPath(c.in, "linux")
		require.NoError(t, err, "%q", c.in)
		assert.Equal(t, c.want, p.Elements, "%q", c.in)
		assert.Equal(t, len(c.want) == 0, p.IsZero())
	}
}

func TestParseSymbolPathString(t *testing.T) {
	in := "cache*/c; /sym ;srv*/s*https://example.com/sym"
	p, err := parseSymbolPath(in, "linux")
	require.NoError(t, err)
	assert.Equal(t, "cache*/c;/sym;srv*/s*https://example.com/sym", p.String())
}

func TestParseSymbolPathErrors(t *testing.T) {
	cases := []struct{ in, msg string }{
		{"https://example.com/sym", "a URL must follow srv*"},
		{"srv*https://a.example/s*/cache", "must be the last token"},
		{"srv*/c*ftp://example.com/s", "unsupported URL scheme"},
		{"srv*/c*https:///nohost", "bad URL"},
		{"srv*/c*https://a.example/s?x=1", "query"},
		{"cache*/a*/b", "one directory"},
		{"cache*https://example.com", "not a URL"},
		{"symsrv*symsrv.dll", "needs a DLL name and at least one store"},
		{"symsrv**/c", "needs a DLL name"},
		{"*/c", "starts with '*'"},
		{"foo*bar", `unknown keyword "foo"`},
		{`srv*c:\symbols*https://msdl.microsoft.com/download/symbols`, "Windows drive path"},
		{`C:\sym`, "Windows drive path"},
		{`srv*\\server\share`, "UNC path"},
		{"/a\x00b", "NUL"},
		{strings.Repeat("a", maxSymbolPathLen+1), "longer than"},
	}
	for _, c := range cases {
		_, err := parseSymbolPath(c.in, "linux")
		require.Error(t, err, "%q", c.in)
		var pe *SymbolPathError
		require.True(t, errors.As(err, &pe), "%q: %T", c.in, err)
		assert.Contains(t, err.Error(), c.msg, "%q", c.in)
	}
	// On Windows, drive and UNC paths are directories like any other.
	p, err := parseSymbolPath(`srv*c:\symbols*\\server\share;C:\sym`, "windows")
	require.NoError(t, err)
	assert.Equal(t, []string{`c:\symbols`, `\\server\share`}, p.Elements[0].Stores)
	assert.Equal(t, `C:\sym`, p.Elements[1].Dir)
}

func TestSymbolPathFromEnv(t *testing.T) {
	t.Setenv("_NT_ALT_SYMBOL_PATH", "/alt")
	t.Setenv("_NT_SYMBOL_PATH", "srv*/c*https://example.com/s")
	p, err := SymbolPathFromEnv()
	require.NoError(t, err)
	require.Len(t, p.Elements, 2)
	assert.Equal(t, "/alt", p.Elements[0].Dir)
	assert.Equal(t, "https://example.com/s", p.Elements[1].URL)

	t.Setenv("_NT_ALT_SYMBOL_PATH", "")
	t.Setenv("_NT_SYMBOL_PATH", "")
	p, err = SymbolPathFromEnv()
	require.NoError(t, err)
	assert.True(t, p.IsZero())
}

func TestStoreKey(t *testing.T) {
	// The worked example of docs/symbols.md §1.3.
	g := GUID{0xD3, 0xE5, 0xC8, 0x36, 0x3A, 0x37, 0x1B, 0x0D, 0x4C, 0x4C, 0x44, 0x20, 0x50, 0x44, 0x42, 0x2E}
	assert.Equal(t, "36C8E5D3373A0D1B4C4C44205044422E1", Identity{g, 1}.StoreKey())
	assert.Equal(t, "36C8E5D3373A0D1B4C4C44205044422E1A", Identity{g, 0x1a}.StoreKey())
	assert.Equal(t, "36C8E5D3373A0D1B4C4C44205044422E0", Identity{g, 0}.StoreKey())
	assert.Equal(t, "00000000000000000000000000000000FFFFFFFF", Identity{GUID{}, 0xffffffff}.StoreKey())
	// The key is the registry form without dashes, plus the age.
	assert.Equal(t, strings.ReplaceAll(g.String(), "-", "")+"2", Identity{g, 2}.StoreKey())
}

func TestTwoTierPrefix(t *testing.T) {
	assert.Equal(t, "nt", twoTierPrefix("ntkrnlmp.pdb"))
	assert.Equal(t, "nt", twoTierPrefix("NTKRNLMP.PDB"))
	assert.Equal(t, "a", twoTierPrefix("a.pdb"))
	assert.Equal(t, "a", twoTierPrefix("a"))
}

func TestCleanPDBName(t *testing.T) {
	good := map[string]string{
		"ntkrnlmp.pdb":                    "ntkrnlmp.pdb",
		`d:\build\obj\amd64\mydriver.pdb`: "mydriver.pdb",
		"/home/u/build/foo.pdb":           "foo.pdb",
		`c:\mixed/sep\bar.pdb`:            "bar.pdb",
		"weird name (1).pdb":              "weird name (1).pdb",
		"ünïcode.pdb":                     "ünïcode.pdb",
		"console.pdb":                     "console.pdb",
		"com10.pdb":                       "com10.pdb",
	}
	for in, want := range good {
		got, err := CleanPDBName(in)
		require.NoError(t, err, "%q", in)
		assert.Equal(t, want, got, "%q", in)
	}
	bad := []string{
		"", "dir/", `dir\`, ".", "..", `..\..`, "../..", `foo\..`,
		"a\x00b.pdb", "c:foo.pdb", "foo.pdb:stream", "C:",
		"tab\there.pdb", "new\nline.pdb", "del\x7f.pdb",
		`a<b.pdb`, `a>b.pdb`, `a"b.pdb`, `a|b.pdb`, `a?b.pdb`, `a*b.pdb`,
		"trailing.", "trailing ", "NUL", "nul.pdb", "CON.pdb", "com1.pdb", "LPT9", "COM\u00b9.pdb", "lpt\u00b3", "aux.x.pdb",
		"\xff\xfe.pdb",
		strings.Repeat("a", 256),
		strings.Repeat("d/", 2100) + "ok.pdb",
	}
	for _, in := range bad {
		_, err := CleanPDBName(in)
		require.Error(t, err, "%q", in)
		assert.ErrorIs(t, err, ErrBadName, "%q", in)
	}
	// Whatever passes stays inside the directory it is joined to.
	_, err := CleanPDBName(strings.Repeat("a", 255))
	assert.NoError(t, err)
}
