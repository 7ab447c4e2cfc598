package symbols

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fixtureRequest returns a request for a fixture PDB (identity read
// from the file) under the name NAME.pdb, and the file's bytes.
func fixtureRequest(t testing.TB, name string) (Request, []byte) {
	t.Helper()
	id := openFixture(t, name).Identity()
	return Request{Name: `C:\build\obj\` + name + ".pdb", GUID: id.GUID, Age: id.Age}, readFixture(t, name)
}

// putFile writes data at path, creating directories.
func putFile(t testing.TB, path string, data []byte) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o777))
	require.NoError(t, os.WriteFile(path, data, 0o666))
}

// keyPath is root/NAME/KEY/file for a request.
func keyPath(root string, req Request, file string) string {
	name, _ := CleanPDBName(req.Name)
	return filepath.Join(root, name, req.Identity().StoreKey(), file)
}

// newTestLocator parses path and returns a Locator whose default cache
// is a fresh temporary directory (returned too).
func newTestLocator(t testing.TB, path string, opt Options) (*Locator, string) {
	t.Helper()
	p, err := parseSymbolPath(path, "linux")
	require.NoError(t, err)
	if opt.DefaultCache == "" {
		opt.DefaultCache = t.TempDir()
	}
	return NewLocator(p, opt), opt.DefaultCache
}

// regularFiles lists the regular files under root, relative and sorted.
func regularFiles(t testing.TB, root string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			rel, _ := filepath.Rel(root, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	if os.IsNotExist(err) {
		return nil
	}
	require.NoError(t, err)
	slices.Sort(out)
	return out
}

// requireFound checks a successful result: the PDB matches, Path holds
// exactly want, and the last attempt is the Found one.
func requireFound(t testing.TB, res Result, err error, path string, want []byte) {
	t.Helper()
	require.NoError(t, err, "tried:\n%s", tried(res))
	require.NotNil(t, res.PDB)
	assert.True(t, res.PDB.Matches(res.Request.GUID, res.Request.Age))
	assert.Equal(t, path, res.Path)
	got, err := os.ReadFile(res.Path)
	require.NoError(t, err)
	assert.True(t, bytes.Equal(want, got), "content of %s", res.Path)
	require.NotEmpty(t, res.Tried)
	assert.Equal(t, Found, res.Tried[len(res.Tried)-1].Outcome, "tried:\n%s", tried(res))
}

func tried(res Result) string {
	var b strings.Builder
	for _, a := range res.Tried {
		b.WriteString("\t[" + a.Element + "] " + a.String() + "\n")
	}
	return b.String()
}

func outcomes(res Result) []Outcome {
	var o []Outcome
	for _, a := range res.Tried {
		o = append(o, a.Outcome)
	}
	return o
}

func TestFindOneTier(t *testing.T) {
	req, pdb := fixtureRequest(t, "x64-full")
	store := t.TempDir()
	p := keyPath(store, req, "x64-full.pdb")
	putFile(t, p, pdb)

	l, _ := newTestLocator(t, "srv*"+store, Options{})
	res, err := l.Find(context.Background(), req)
	requireFound(t, res, err, p, pdb)
	assert.Equal(t, "srv*"+store, res.Source)
	assert.Equal(t, "x64-full.pdb", res.Name)
	assert.Equal(t, req.Identity().StoreKey(), res.Key)
	assert.Equal(t, []Outcome{Found}, outcomes(res))
	assert.Equal(t, "x64-full.pdb "+res.Key+": found in srv*"+store+": "+p, res.Summary())
	s, ok := res.PDB.Lookup(0x1070)
	require.True(t, ok)
	assert.Equal(t, "SepCopyTokenBody", s.Name)

	// A plain folder holding a store: DIR/NAME first, then the layout.
	l, _ = newTestLocator(t, store, Options{})
	res, err = l.Find(context.Background(), req)
	requireFound(t, res, err, p, pdb)
	assert.Equal(t, []Outcome{Found}, outcomes(res))
	other, _ := fixtureRequest(t, "x86-full")
	res, err = l.Find(context.Background(), other)
	require.ErrorIs(t, err, ErrNotFound)
	assert.Equal(t, []Outcome{NotFound, NotFound}, outcomes(res))
	assert.Equal(t, filepath.Join(store, "x86-full.pdb"), res.Tried[0].Where)
}

func TestFindTwoTier(t *testing.T) {
	req, pdb := fixtureRequest(t, "x64-full")
	store := t.TempDir()
	putFile(t, filepath.Join(store, "index2.txt"), nil)
	p := filepath.Join(store, "x6", "x64-full.pdb", req.Identity().StoreKey(), "x64-full.pdb")
	putFile(t, p, pdb)
	// A one-tier copy is not looked at in a two-tier store.
	putFile(t, keyPath(store, req, "x64-full.pdb"), []byte("wrong"))

	l, _ := newTestLocator(t, "srv*"+store, Options{})
	res, err := l.Find(context.Background(), req)
	requireFound(t, res, err, p, pdb)

	// Downloads into a two-tier cache use its layout.
	up := t.TempDir()
	putFile(t, keyPath(up, req, "x64-full.pdb"), pdb)
	cache := t.TempDir()
	putFile(t, filepath.Join(cache, "index2.txt"), nil)
	l, _ = newTestLocator(t, "srv*"+cache+"*"+up, Options{})
	res, err = l.Find(context.Background(), req)
	requireFound(t, res, err, filepath.Join(cache, "x6", "x64-full.pdb", req.Identity().StoreKey(), "x64-full.pdb"), pdb)
}

func TestFindFlatFolder(t *testing.T) {
	req, pdb := fixtureRequest(t, "x64-full")
	dir := t.TempDir()
	putFile(t, filepath.Join(dir, "x64-full.pdb"), pdb)
	l, _ := newTestLocator(t, dir, Options{})
	res, err := l.Find(context.Background(), req)
	requireFound(t, res, err, filepath.Join(dir, "x64-full.pdb"), pdb)
	assert.Equal(t, dir, res.Source)
}

func TestFindFilePtr(t *testing.T) {
	req, pdb := fixtureRequest(t, "x64-full")
	root := t.TempDir()
	store := filepath.Join(root, "store")
	target := filepath.Join(root, "builds", "x64-full.pdb")
	putFile(t, target, pdb)

	for _, ptr := range []string{
		"PATH:../builds/x64-full.pdb",          // relative to the store root
		`PATH:..\builds\x64-full.pdb` + "\r\n", // as symstore writes it on Windows
		"PATH:" + target,
		"\ufeffpath: " + target + "\n",
	} {
		putFile(t, keyPath(store, req, "file.ptr"), []byte(ptr))
		l, _ := newTestLocator(t, "srv*"+store, Options{})
		res, err := l.Find(context.Background(), req)
		requireFound(t, res, err, filepath.Clean(target), pdb)
		assert.Equal(t, []Outcome{Pointer, Found}, outcomes(res), "%q", ptr)
	}

	// MSG: the store says why there is no file.
	putFile(t, keyPath(store, req, "file.ptr"), []byte("MSG:withheld by policy"))
	l, _ := newTestLocator(t, "srv*"+store, Options{})
	res, err := l.Find(context.Background(), req)
	require.ErrorIs(t, err, ErrNotFound)
	assert.Equal(t, []Outcome{Message}, outcomes(res))
	assert.Equal(t, "MSG:withheld by policy", res.Tried[0].Note)
	assert.Contains(t, err.Error(), "1 message")

	// A UNC share cannot be reached from here; a missing target is named.
	for ptr, want := range map[string]Outcome{
		`PATH:\\buildsrv\sym\x64-full.pdb`: Skipped,
		"PATH:../nothing/x64-full.pdb":     NotFound,
		"PATH:https://example.com/x.pdb":   Skipped,
		"garbage":                          Failed,
	} {
		putFile(t, keyPath(store, req, "file.ptr"), []byte(ptr))
		res, err = l.Find(context.Background(), req)
		require.ErrorIs(t, err, ErrNotFound)
		assert.Equal(t, want, res.Tried[len(res.Tried)-1].Outcome, "%q\n%s", ptr, tried(res))
	}
}

func TestFindCompressedLocal(t *testing.T) {
	req, pdb := fixtureRequest(t, "x64-full")
	cab, err := os.ReadFile(gcabFixture)
	require.NoError(t, err)
	store := t.TempDir()
	putFile(t, keyPath(store, req, "x64-full.pd_"), cab)

	// Expanded into the downstream store.
	down := t.TempDir()
	l, _ := newTestLocator(t, "srv*"+down+"*"+store, Options{})
	res, err := l.Find(context.Background(), req)
	want := keyPath(down, req, "x64-full.pdb")
	requireFound(t, res, err, want, pdb)
	assert.Equal(t, []string{filepath.ToSlash(strings.TrimPrefix(want, down+"/"))}, regularFiles(t, down))
	assert.Contains(t, res.Tried[len(res.Tried)-1].Note, "expanded to")

	// Without a downstream store: into the default cache.
	l, dc := newTestLocator(t, "srv*"+store, Options{})
	res, err = l.Find(context.Background(), req)
	requireFound(t, res, err, keyPath(dc, req, "x64-full.pdb"), pdb)

	// A ZIP .pd_ (symstore /compress ZIP) works the same way.
	var zb bytes.Buffer
	zipWriter(t, &zb, "x64-full.pdb", pdb)
	putFile(t, keyPath(store, req, "x64-full.pd_"), zb.Bytes())
	l, dc = newTestLocator(t, "srv*"+store, Options{})
	res, err = l.Find(context.Background(), req)
	requireFound(t, res, err, keyPath(dc, req, "x64-full.pdb"), pdb)

	// LZX: reported, nothing left behind.
	putFile(t, keyPath(store, req, "x64-full.pd_"), makeCab(t, "x64-full.pdb", pdb, cabOpts{comp: cabCompLZX}))
	l, dc = newTestLocator(t, "srv*"+store, Options{})
	res, err = l.Find(context.Background(), req)
	require.ErrorIs(t, err, ErrNotFound)
	require.Equal(t, []Outcome{Unsupported}, outcomes(res))
	assert.ErrorIs(t, res.Tried[0].Err, ErrLZX)
	assert.Empty(t, regularFiles(t, dc))
	assert.Contains(t, err.Error(), "1 unsupported")

	// A cabinet of the wrong PDB: mismatch, not cached.
	putFile(t, keyPath(store, req, "x64-full.pd_"), makeCab(t, "x64-full.pdb", readFixture(t, "x86-full"), cabOpts{comp: cabCompMSZIP}))
	l, dc = newTestLocator(t, "srv*"+store, Options{})
	res, err = l.Find(context.Background(), req)
	require.ErrorIs(t, err, ErrNotFound)
	require.Equal(t, []Outcome{Mismatch}, outcomes(res))
	assert.Equal(t, openFixture(t, "x86-full").Identity(), res.Tried[0].Got)
	assert.Empty(t, regularFiles(t, dc))
	entries, err := os.ReadDir(dc)
	require.NoError(t, err)
	assert.Empty(t, entries, "directories created for the copy are removed")
}

func TestFindCopyDown(t *testing.T) {
	req, pdb := fixtureRequest(t, "x64-full")
	c1, c2, up := t.TempDir(), t.TempDir(), t.TempDir()
	putFile(t, keyPath(up, req, "x64-full.pdb"), pdb)
	l, _ := newTestLocator(t, "srv*"+c1+"*"+c2+"*"+up, Options{})
	res, err := l.Find(context.Background(), req)
	requireFound(t, res, err, keyPath(c1, req, "x64-full.pdb"), pdb)
	assert.Equal(t, []Outcome{NotFound, NotFound, Found}, outcomes(res))
	for _, c := range []string{c1, c2} {
		got, err := os.ReadFile(keyPath(c, req, "x64-full.pdb"))
		require.NoError(t, err)
		assert.True(t, bytes.Equal(pdb, got))
		assert.Len(t, regularFiles(t, c), 1, "no temporary files left")
	}
	// Now the nearest store has it.
	res, err = l.Find(context.Background(), req)
	requireFound(t, res, err, keyPath(c1, req, "x64-full.pdb"), pdb)
	assert.Equal(t, []Outcome{Found}, outcomes(res))

	// cache* collects what the elements to its right find, including
	// plain folders; the empty cache is the default cache.
	dir := t.TempDir()
	putFile(t, filepath.Join(dir, "x64-full.pdb"), pdb)
	c := t.TempDir()
	l, dc := newTestLocator(t, "cache*"+c+";cache*;"+dir, Options{})
	res, err = l.Find(context.Background(), req)
	requireFound(t, res, err, keyPath(c, req, "x64-full.pdb"), pdb)
	assert.FileExists(t, keyPath(dc, req, "x64-full.pdb"))
	res, err = l.Find(context.Background(), req)
	requireFound(t, res, err, keyPath(c, req, "x64-full.pdb"), pdb)
	assert.Equal(t, []Outcome{Found}, outcomes(res))
}

func TestFindCopyDownFails(t *testing.T) {
	req, pdb := fixtureRequest(t, "x64-full")
	root := t.TempDir()
	blocked := filepath.Join(root, "blocked")
	putFile(t, blocked, []byte("a file where a store should be"))
	up := t.TempDir()
	p := keyPath(up, req, "x64-full.pdb")
	putFile(t, p, pdb)
	l, _ := newTestLocator(t, "srv*"+blocked+"*"+up, Options{})
	res, err := l.Find(context.Background(), req)
	require.NoError(t, err)
	assert.Equal(t, p, res.Path, "the original serves")
	assert.Equal(t, []Outcome{NotFound, Found, Failed}, outcomes(res), "%s", tried(res))
}

func TestFindMismatch(t *testing.T) {
	req, pdb := fixtureRequest(t, "x64-full")
	wrong := readFixture(t, "x64-publics")
	wrongID := openFixture(t, "x64-publics").Identity()
	s1, s2 := t.TempDir(), t.TempDir()
	bad := keyPath(s1, req, "x64-full.pdb")
	putFile(t, bad, wrong)
	good := keyPath(s2, req, "x64-full.pdb")
	putFile(t, good, pdb)

	l, _ := newTestLocator(t, "srv*"+s1+";srv*"+s2, Options{})
	res, err := l.Find(context.Background(), req)
	requireFound(t, res, err, good, pdb)
	require.Equal(t, []Outcome{Mismatch, Found}, outcomes(res))
	a := res.Tried[0]
	assert.Equal(t, bad, a.Where)
	assert.Equal(t, "srv*"+s1, a.Element)
	assert.Equal(t, wrongID, a.Got)
	assert.Contains(t, a.String(), "mismatch: "+bad+": PDB is "+wrongID.String())
	assert.Equal(t, "srv*"+s2, res.Source)

	// Only the wrong one: not found, and the error says a PDB was there.
	l, _ = newTestLocator(t, "srv*"+s1, Options{})
	res, err = l.Find(context.Background(), req)
	require.ErrorIs(t, err, ErrNotFound)
	assert.Nil(t, res.PDB)
	assert.Empty(t, res.Path)
	assert.Contains(t, err.Error(), "1 mismatch")
	assert.Contains(t, err.Error(), "x64-full.pdb "+req.Identity().StoreKey())

	// A wrong PDB in the downstream store is replaced by the right one.
	l, _ = newTestLocator(t, "srv*"+s1+"*"+s2, Options{})
	res, err = l.Find(context.Background(), req)
	requireFound(t, res, err, bad, pdb)
	assert.Equal(t, []Outcome{Mismatch, Found}, outcomes(res))

	// The DBI age counts: same GUID, other age.
	req2 := req
	req2.Age++
	l, _ = newTestLocator(t, "srv*"+s2, Options{})
	putFile(t, keyPath(s2, req2, "x64-full.pdb"), pdb)
	res, err = l.Find(context.Background(), req2)
	require.ErrorIs(t, err, ErrNotFound)
	assert.Equal(t, []Outcome{Mismatch}, outcomes(res))
	assert.Equal(t, req.Identity(), res.Tried[0].Got)
}

func TestFindNotPDB(t *testing.T) {
	req, _ := fixtureRequest(t, "x64-full")
	store := t.TempDir()
	l, _ := newTestLocator(t, "srv*"+store, Options{})
	for content, want := range map[string]Outcome{
		"Microsoft MSFZ Container\r\n\x1aALD\x00\x00rest": Unsupported,
		"<html><body>Sign in</body></html>":               Failed,
		"":                                                Failed,
		"Microsoft C/C++ MSF 7.00\r\n\x1aDS\x00\x00\x00" + "\x00\x10\x00\x00": Failed, // damaged
	} {
		putFile(t, keyPath(store, req, "x64-full.pdb"), []byte(content))
		res, err := l.Find(context.Background(), req)
		require.ErrorIs(t, err, ErrNotFound)
		require.Equal(t, []Outcome{want}, outcomes(res), "%q", content)
	}
	putFile(t, keyPath(store, req, "x64-full.pdb"), []byte("<html>"))
	res, _ := l.Find(context.Background(), req)
	assert.ErrorIs(t, res.Tried[0].Err, ErrNotSymbolFile)
	assert.Contains(t, res.Tried[0].String(), `starts with "<html>"`)

	// A directory where the file should be.
	require.NoError(t, os.Remove(keyPath(store, req, "x64-full.pdb")))
	require.NoError(t, os.Mkdir(keyPath(store, req, "x64-full.pdb"), 0o777))
	res, _ = l.Find(context.Background(), req)
	assert.Equal(t, []Outcome{Failed}, outcomes(res))
	assert.Contains(t, res.Tried[0].String(), "not a regular file")
}

func TestFindCaseVariants(t *testing.T) {
	req, pdb := fixtureRequest(t, "x64-full")
	req.Name = "X64-Full.pdb"
	store := t.TempDir()
	// SSQP stores use lower-case names and keys.
	p := filepath.Join(store, "x64-full.pdb", strings.ToLower(req.Identity().StoreKey()), "X64-Full.pdb")
	putFile(t, p, pdb)
	l, _ := newTestLocator(t, "srv*"+store, Options{})
	res, err := l.Find(context.Background(), req)
	requireFound(t, res, err, p, pdb)
}

func TestFindNothing(t *testing.T) {
	req, _ := fixtureRequest(t, "x64-full")
	l, _ := newTestLocator(t, "", Options{})
	res, err := l.Find(context.Background(), req)
	require.ErrorIs(t, err, ErrNotFound)
	assert.Contains(t, err.Error(), "symbol path is empty")
	assert.Equal(t, err, res.Err)
	assert.Equal(t, err.Error(), res.Summary())

	missing := filepath.Join(t.TempDir(), "missing")
	l, _ = newTestLocator(t, "srv*"+missing, Options{})
	res, err = l.Find(context.Background(), req)
	require.ErrorIs(t, err, ErrNotFound)
	require.Len(t, res.Tried, 1)
	assert.Contains(t, res.Tried[0].Note, "does not exist")
	assert.Empty(t, regularFiles(t, missing))

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = l.Find(ctx, req)
	assert.ErrorIs(t, err, context.Canceled)
}
