package symbols

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// lookupCase is an address in the x64 fixtures and what it resolves
// to with private symbols (full) and with publics only. The RVAs come
// from the fixtures' layout (.text at 0x1000); names, offsets and line
// markers follow from testdata/pdb/src.
type lookupCase struct {
	rva        uint32
	full       string // "Name+0xoff", or "" for no symbol
	file, line string // source file and @marker of the full PDB's line, or ""
	publics    string // the same address in the publics-only PDB
}

var x64Cases = []lookupCase{
	{0x1000, "ExAllocatePoolWithTag+0x0", "kern.c", "alloc.body", "ExAllocatePoolWithTag+0x0"},
	{0x1028, "ExAllocatePoolWithTag+0x28", "", "", "ExAllocatePoolWithTag+0x28"}, // padding after the function: public fallback, no line
	{0x1030, "SepDuplicateToken+0x0", "kern.c", "dup.open", "SepDuplicateToken+0x0"},
	{0x1040, "SepDuplicateToken+0x10", "kern.c", "dup.call", "SepDuplicateToken+0x10"},
	// The static function has no public: publics-only PDBs attribute
	// it to the public before it, as WinDbg does.
	{0x1060, "SepCopyTokenBody+0x0", "kern.c", "copy.open", "SepDuplicateToken+0x30"},
	{0x1070, "SepCopyTokenBody+0x10", "kern.c", "copy.loop", "SepDuplicateToken+0x40"},
	{0x10b4, "NtDuplicateToken+0x14", "kern.c", "ntdup.close", "NtDuplicateToken+0x14"},
	{0x10c4, "KiSystemStartup+0x4", "kern.c", "start.token", "KiSystemStartup+0x4"},
	{0x1110, "Se::TokenCache::Lookup+0x0", "kcpp.cpp", "lookup.body", "?Lookup@TokenCache@Se@@SAHH@Z+0x0"},
	{0x1130, "Se::Hash+0x0", "kcpp.cpp", "hash.int", "?Hash@Se@@YAHH@Z+0x0"},
	{0x1150, "Se::Hash+0x10", "kcpp.cpp", "hash.str.loop", "?Hash@Se@@YAHPEBD@Z+0x10"},
	{0x1175, "SepCachedLookup+0x5", "kcpp.cpp", "cached.open", "SepCachedLookup+0x5"},
	{0x11b0, "`anonymous namespace'::Mix+0x0", "kcpp.cpp", "mix", "SepCachedLookup+0x40"},
	{0x11ba, "`anonymous namespace'::Mix+0xa", "kcpp.cpp", "mix", "SepCachedLookup+0x4a"},
	{0x2020, "??_C@_03PPGECJFJ@tok?$AA@+0x0", "", "", "??_C@_03PPGECJFJ@tok?$AA@+0x0"}, // .rdata
	{0x3010, "PoolCount+0x10", "", "", "PoolCount+0x10"},                               // static PoolArena after PoolCount
	// Outside every section: image header, past .text's virtual size,
	// past the image.
	{0x0, "", "", "", ""},
	{0x500, "", "", "", ""},
	{0x11bb, "", "", "", ""},
	{0x5000, "", "", "", ""},
	{0xffffffff, "", "", "", ""},
}

func format(s Symbol, ok bool) string {
	if !ok {
		return ""
	}
	return fmt.Sprintf("%s+%#x", s.Name, s.Offset)
}

func checkX64Lookups(t *testing.T, p *PDB, full bool) {
	t.Helper()
	for _, c := range x64Cases {
		s, ok := p.Lookup(c.rva)
		want := c.publics
		if full {
			want = c.full
		}
		assert.Equal(t, want, format(s, ok), "Lookup(%#x)", c.rva)
		if !ok {
			continue
		}
		assert.Equal(t, c.rva, s.RVA+s.Offset, "RVA+Offset for %#x", c.rva)
		if full && c.file != "" {
			assert.Equal(t, `C:\src\src\`+c.file, s.File, "file of %#x", c.rva)
			assert.Equal(t, srcLine(t, c.file, c.line), s.Line, "line of %#x (@%s)", c.rva, c.line)
		} else {
			assert.Empty(t, s.File, "file of %#x", c.rva)
			assert.Zero(t, s.Line, "line of %#x", c.rva)
		}
	}
}

func TestLookupX64Full(t *testing.T) {
	for _, name := range []string{"x64-full", "x64-page8k"} {
		t.Run(name, func(t *testing.T) {
			p := openFixture(t, name)
			checkX64Lookups(t, p, true)
			assert.True(t, p.HasLines())
			assert.False(t, p.HasOMAP())
			assert.Equal(t, uint16(0x8664), p.Machine())
		})
	}
}

func TestLookupX64Publics(t *testing.T) {
	p := openFixture(t, "x64-publics")
	checkX64Lookups(t, p, false)
	assert.Zero(t, p.NumProcedures())
	assert.False(t, p.HasLines())
	assert.False(t, p.Stripped(), "lld does not set the stripped flag")
	for _, m := range p.Modules() {
		if m.Name != "* Linker *" {
			assert.Equal(t, -1, m.Stream, "module %s has a symbol stream", m.Name)
		}
	}
}

func TestLookupKinds(t *testing.T) {
	full := openFixture(t, "x64-full")
	s, ok := full.Lookup(0x1070)
	require.True(t, ok)
	assert.Equal(t, Procedure, s.Kind)
	assert.Equal(t, uint32(0x1060), s.RVA)
	assert.Equal(t, uint32(56), s.Size)

	s, ok = full.Lookup(0x1028)
	require.True(t, ok)
	assert.Equal(t, Public, s.Kind)
	assert.Zero(t, s.Size)
	assert.Equal(t, "public", s.Kind.String())
}

func TestBlockSizes(t *testing.T) {
	assert.Equal(t, 4096, openFixture(t, "x64-full").BlockSize())
	assert.Equal(t, 8192, openFixture(t, "x64-page8k").BlockSize())
}

func TestProcedures(t *testing.T) {
	p := openFixture(t, "x64-full")
	var got []string
	for s := range p.Procedures() {
		got = append(got, fmt.Sprintf("%#x %d %s %s:%d", s.RVA, s.Size, s.Name, filepath.Base(strings.ReplaceAll(s.File, `\`, "/")), s.Line))
	}
	kern := func(m string) int { return srcLine(t, "kern.c", m) }
	cpp := func(m string) int { return srcLine(t, "kcpp.cpp", m) }
	want := []string{
		fmt.Sprintf("0x1000 37 ExAllocatePoolWithTag kern.c:%d", kern("alloc.body")),
		fmt.Sprintf("0x1030 37 SepDuplicateToken kern.c:%d", kern("dup.open")),
		fmt.Sprintf("0x1060 56 SepCopyTokenBody kern.c:%d", kern("copy.open")),
		fmt.Sprintf("0x10a0 25 NtDuplicateToken kern.c:%d", kern("ntdup.close")-4),
		fmt.Sprintf("0x10c0 78 KiSystemStartup kern.c:%d", kern("start.token")-1),
		fmt.Sprintf("0x1110 30 Se::TokenCache::Lookup kcpp.cpp:%d", cpp("lookup.body")),
		fmt.Sprintf("0x1130 11 Se::Hash kcpp.cpp:%d", cpp("hash.int")),
		fmt.Sprintf("0x1140 46 Se::Hash kcpp.cpp:%d", cpp("hash.str.loop")-3),
		fmt.Sprintf("0x1170 60 SepCachedLookup kcpp.cpp:%d", cpp("cached.open")),
		fmt.Sprintf("0x11b0 11 `anonymous namespace'::Mix kcpp.cpp:%d", cpp("mix")),
	}
	assert.Equal(t, want, got)

	// Early exit from the iterator.
	n := 0
	for range p.Procedures() {
		n++
		break
	}
	assert.Equal(t, 1, n)
}

func TestPublicsX64(t *testing.T) {
	for _, name := range []string{"x64-full", "x64-publics"} {
		t.Run(name, func(t *testing.T) {
			p := openFixture(t, name)
			var got []string
			for s := range p.Publics() {
				got = append(got, fmt.Sprintf("%#x %s", s.RVA, s.Name))
			}
			want := []string{
				"0x1000 ExAllocatePoolWithTag",
				"0x1030 SepDuplicateToken",
				"0x10a0 NtDuplicateToken",
				"0x10c0 KiSystemStartup",
				"0x1110 ?Lookup@TokenCache@Se@@SAHH@Z",
				"0x1130 ?Hash@Se@@YAHH@Z",
				"0x1140 ?Hash@Se@@YAHPEBD@Z",
				"0x1170 SepCachedLookup",
				"0x2020 ??_C@_03PPGECJFJ@tok?$AA@",
				"0x3000 PoolCount",
				"0x3114 ?Hits@TokenCache@Se@@2HA",
			}
			assert.Equal(t, want, got)
			assert.Equal(t, len(want), p.NumPublics())
		})
	}
}

// x86 publics are decorated by calling convention; procedures are not.
func TestX86DecoratedNames(t *testing.T) {
	p := openFixture(t, "x86-full")
	assert.Equal(t, uint16(0x14c), p.Machine())
	pubs := map[string]uint32{}
	for s := range p.Publics() {
		pubs[s.Name] = s.RVA
	}
	for _, c := range []struct{ public, proc string }{
		{"_ExAllocatePoolWithTag@12", "ExAllocatePoolWithTag"}, // __stdcall
		{"@SepDuplicateToken@4", "SepDuplicateToken"},          // __fastcall
		{"_NtDuplicateToken@8", "NtDuplicateToken"},            // __stdcall
		{"_KiSystemStartup", "KiSystemStartup"},                // __cdecl
		{"_SepCachedLookup", "SepCachedLookup"},                // extern "C" __cdecl
		{"?Lookup@TokenCache@Se@@SAHH@Z", "Se::TokenCache::Lookup"},
		{"?Hash@Se@@YAHPBD@Z", "Se::Hash"}, // x86 pointers have no E (__ptr64) qualifier
	} {
		rva, ok := pubs[c.public]
		if !assert.True(t, ok, "public %s missing", c.public) {
			continue
		}
		s, ok := p.Lookup(rva)
		require.True(t, ok)
		assert.Equal(t, c.proc, s.Name)
		assert.Equal(t, Procedure, s.Kind)
		assert.Zero(t, s.Offset)
	}
	s, ok := p.Lookup(pubs["_PoolCount"] + 4)
	require.True(t, ok)
	assert.Equal(t, "_PoolCount+0x4", format(s, ok))
}

// big.pdb: 300 generated functions; its symbol record and module
// streams span many blocks. BigFuncNNN's body line is 5+5*NNN.
func TestBig(t *testing.T) {
	p := openFixture(t, "big")
	assert.Equal(t, 301, p.NumProcedures())
	assert.Equal(t, 301, p.NumPublics())
	n := 0
	for s := range p.Procedures() {
		var k int
		if _, err := fmt.Sscanf(s.Name, "BigFunc%03d", &k); err != nil {
			assert.Equal(t, "KiSystemStartup", s.Name)
			continue
		}
		n++
		for _, off := range []uint32{0, s.Size - 1} {
			got, ok := p.Lookup(s.RVA + off)
			require.True(t, ok)
			assert.Equal(t, s.Name, got.Name)
			assert.Equal(t, off, got.Offset)
			assert.Equal(t, 5+5*k, got.Line, "%s+%#x", s.Name, off)
			assert.Equal(t, `C:\src\src\big.c`, got.File)
		}
	}
	assert.Equal(t, 300, n)
	var mods []string
	for _, m := range p.Modules() {
		mods = append(mods, m.Name)
	}
	assert.Equal(t, []string{`C:\src\obj\big.obj`, "* Linker *"}, mods)
}

// The GUID and the DBI age match the images' RSDS records.
func TestIdentityMatchesImage(t *testing.T) {
	images := map[string]string{
		"x64-full": "x64-full.exe", "x64-publics": "x64-publics.exe", "x64-page8k": "x64-page8k.exe",
		"x86-full": "x86-full.exe", "big": "big.sys", "x64-inline": "x64-inline.exe",
	}
	seen := map[GUID]bool{}
	for _, name := range fixtureNames {
		t.Run(name, func(t *testing.T) {
			p := openFixture(t, name)
			g, age, pdbName := rsds(t, filepath.Join(fixtureDir, images[name]))
			assert.Equal(t, name+".pdb", pdbName)
			assert.Equal(t, g, p.GUID())
			assert.Equal(t, age, p.Age())
			assert.True(t, p.Matches(g, age))
			assert.NoError(t, p.CheckIdentity(g, age))
			assert.Equal(t, Identity{g, age}, p.Identity())
			assert.False(t, seen[g], "GUIDs differ between fixtures")
			seen[g] = true

			assert.False(t, p.Matches(g, age+1))
			other := g
			other[0] ^= 1
			assert.False(t, p.Matches(other, age))
			err := p.CheckIdentity(other, age)
			var mm *IdentityMismatchError
			require.ErrorAs(t, err, &mm)
			assert.Equal(t, Identity{other, age}, mm.Want)
			assert.Equal(t, p.Identity(), mm.Got)
			assert.Contains(t, err.Error(), "identity mismatch")
			// lld writes "LLD PDB." into Data4 of every GUID it makes.
			assert.Equal(t, "LLD PDB.", string(g[8:]))
		})
	}
}

func TestSections(t *testing.T) {
	p := openFixture(t, "x64-full")
	secs := p.Sections()
	var names []string
	for _, s := range secs {
		names = append(names, fmt.Sprintf("%s %#x %#x %v", s.Name, s.VirtualAddress, s.VirtualSize, s.Executable()))
	}
	assert.Equal(t, []string{".text 0x1000 0x1bb true", ".rdata 0x2000 0xa8 false", ".data 0x3000 0x118 false", ".pdata 0x4000 0x30 false"}, names)
	secs[0].Name = "changed"
	assert.Equal(t, ".text", p.Sections()[0].Name, "Sections returns a copy")
}

func TestModules(t *testing.T) {
	p := openFixture(t, "x64-full")
	var got []string
	for _, m := range p.Modules() {
		got = append(got, fmt.Sprintf("%s|%s|%d", m.Name, m.ObjectFile, m.Stream))
	}
	assert.Equal(t, []string{`C:\src\obj\kern-x64-g.obj|C:\src\obj\kern-x64-g.obj|11`,
		`C:\src\obj\kcpp-x64-g.obj|C:\src\obj\kcpp-x64-g.obj|12`, "* Linker *||13"}, got)
}

func TestLookupDoesNotAllocate(t *testing.T) {
	p := openFixture(t, "x64-full")
	rvas := []uint32{0x1000, 0x1070, 0x1028, 0x3010, 0x500}
	var sink Symbol
	allocs := testing.AllocsPerRun(100, func() {
		for _, r := range rvas {
			sink, _ = p.Lookup(r)
		}
	})
	assert.Zero(t, allocs)
	_ = sink
}

func TestOpenPDBFileErrors(t *testing.T) {
	_, err := OpenPDBFile(filepath.Join(t.TempDir(), "missing.pdb"))
	assert.Error(t, err)
	// Errors from the decoder name the file and keep their type.
	bad := filepath.Join(t.TempDir(), "bad.pdb")
	require.NoError(t, writeFile(bad, []byte("<html>not found</html>")))
	_, err = OpenPDBFile(bad)
	var fe *FormatError
	require.ErrorAs(t, err, &fe)
	assert.ErrorIs(t, err, ErrNotPDB)
	assert.Contains(t, err.Error(), "bad.pdb")
}

func TestGUID(t *testing.T) {
	raw := GUID{0xD3, 0xE5, 0xC8, 0x36, 0x3A, 0x37, 0x1B, 0x0D, 0x4C, 0x4C, 0x44, 0x20, 0x50, 0x44, 0x42, 0x2E}
	assert.Equal(t, "36C8E5D3-373A-0D1B-4C4C-44205044422E", raw.String())
	for _, s := range []string{"36C8E5D3-373A-0D1B-4C4C-44205044422E", "{36c8e5d3-373a-0d1b-4c4c-44205044422e}"} {
		g, err := ParseGUID(s)
		require.NoError(t, err)
		assert.Equal(t, raw, g)
	}
	for _, s := range []string{"", "36C8E5D3-373A-0D1B-4C4C-44205044422", "36C8E5D3x373A-0D1B-4C4C-44205044422E", "36C8E5D3-373A-0D1B-4C4C-44205044422G", "{36C8E5D3-373A-0D1B-4C4C-44205044422E"} {
		_, err := ParseGUID(s)
		assert.Error(t, err, s)
	}
	assert.Equal(t, "36C8E5D3-373A-0D1B-4C4C-44205044422E age 2", Identity{raw, 2}.String())
	assert.True(t, slices.Equal([]byte("LLD PDB."), raw[8:]))
}
