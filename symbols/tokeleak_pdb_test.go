package symbols_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/poolprof/poolprof/internal/tokeleak"
	"github.com/poolprof/poolprof/symbols"
)

// The PDB fixtures of the bundled example's kernel images,
// testdata/pdb/ntkrnlmp.pdb and contosec.pdb, must hold every function of
// internal/tokeleak's table at its RVA and size, and have the identities
// the example's DbgID_RSDS events carry.
func TestTokeleakPDBFixtures(t *testing.T) {
	for _, fx := range []struct {
		file, module, guid string
		age                uint32
		entry              string
	}{
		{"ntkrnlmp.pdb", tokeleak.ModNT, tokeleak.NtkrnlmpPDBGUID, tokeleak.NtkrnlmpPDBAge, "KiSystemStartup"},
		{"contosec.pdb", tokeleak.ModContosec, tokeleak.ContosecPDBGUID, tokeleak.ContosecPDBAge, "DriverEntry"},
	} {
		t.Run(fx.file, func(t *testing.T) {
			p, err := symbols.OpenPDBFile(filepath.Join("../testdata/pdb", fx.file))
			require.NoError(t, err)
			guid, err := symbols.ParseGUID(fx.guid)
			require.NoError(t, err)
			require.NoError(t, p.CheckIdentity(guid, fx.age), "internal/tokeleak/pdbs.go must hold the fixture's identity")
			assert.True(t, p.HasLines())

			// The trace's image of the same name carries the identity too.
			var im *tokeleak.Image
			for _, x := range tokeleak.Images() {
				if x.Module() == fx.module {
					im = &x
					break
				}
			}
			require.NotNil(t, im)
			assert.Equal(t, fx.file, im.PDB)
			var g symbols.GUID
			im.PDBGUID.PutBytes(g[:])
			assert.Equal(t, guid, g)
			assert.Equal(t, fx.age, im.PDBAge)

			n := 0
			for _, f := range tokeleak.Functions {
				if f.Module != fx.module {
					continue
				}
				n++
				at := func(rva uint32) symbols.Symbol {
					t.Helper()
					s, ok := p.Lookup(rva)
					require.True(t, ok, "%s: no symbol at %#x", f.Name, rva)
					return s
				}
				s := at(f.Start)
				assert.Equal(t, f.Name, s.Name, "at %#x", f.Start)
				assert.Equal(t, symbols.Procedure, s.Kind, f.Name)
				assert.Equal(t, f.Start, s.RVA, f.Name)
				assert.Equal(t, f.Size, s.Size, f.Name)
				assert.Zero(t, s.Offset, f.Name)
				assert.True(t, strings.HasSuffix(s.File, `\`+strings.TrimSuffix(fx.file, ".pdb")+".c"), s.File)
				assert.Positive(t, s.Line, f.Name)
				assert.Equal(t, f.Name, at(f.Start+f.Size-1).Name, "last byte of %s", f.Name)
				for _, r := range f.Returns {
					s := at(r)
					assert.Equal(t, f.Name, s.Name, "return address %#x", r)
					assert.Equal(t, r-f.Start, s.Offset, "return address %#x", r)
					assert.Equal(t, f.Name, at(r-1).Name, "the call before %#x", r)
				}
				// Just before the function: another function, or a gap
				// that the nearest lower public covers; never this one.
				if s, ok := p.Lookup(f.Start - 1); ok {
					assert.NotEqual(t, f.Name, s.Name, "before %s", f.Name)
				}
			}
			assert.Positive(t, n)
			assert.Equal(t, n+1, p.NumProcedures(), "the functions and the entry point")
			var names []string
			for s := range p.Procedures() {
				names = append(names, s.Name)
			}
			assert.Equal(t, fx.entry, names[len(names)-1], "the entry point follows the functions")
		})
	}
}
