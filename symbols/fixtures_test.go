package symbols

import (
	"bufio"
	"bytes"
	"debug/pe"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The fixtures are real PDBs built from testdata/pdb/src by
// testdata/pdb/build.sh (clang-14 and lld-link-14).
const fixtureDir = "../testdata/pdb"

var fixtureNames = []string{"x64-full", "x64-publics", "x64-page8k", "x86-full", "big", "x64-inline"}

func fixturePath(name string) string { return filepath.Join(fixtureDir, name+".pdb") }

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(fixturePath(name))
	require.NoError(t, err)
	return b
}

func openFixture(t testing.TB, name string) *PDB {
	t.Helper()
	p, err := OpenPDBFile(fixturePath(name))
	require.NoError(t, err)
	return p
}

func openBytes(t testing.TB, b []byte) *PDB {
	t.Helper()
	p, err := OpenPDB(bytes.NewReader(b), int64(len(b)))
	require.NoError(t, err)
	return p
}

// srcLine returns the line number of the line in testdata/pdb/src/file
// that carries the marker "@marker" (followed by a space or the end of
// the line).
func srcLine(t testing.TB, file, marker string) int {
	t.Helper()
	f, err := os.Open(filepath.Join(fixtureDir, "src", file))
	require.NoError(t, err)
	defer f.Close()
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		if l := sc.Text() + " "; strings.Contains(l, "@"+marker+" ") {
			return n
		}
	}
	require.NoError(t, sc.Err())
	t.Fatalf("marker @%s not found in %s", marker, file)
	return 0
}

// rsds reads the CodeView RSDS record (GUID, age, PDB path) of a PE image.
func rsds(t testing.TB, image string) (GUID, uint32, string) {
	t.Helper()
	f, err := pe.Open(image)
	require.NoError(t, err)
	defer f.Close()
	var dd pe.DataDirectory
	switch oh := f.OptionalHeader.(type) {
	case *pe.OptionalHeader64:
		dd = oh.DataDirectory[pe.IMAGE_DIRECTORY_ENTRY_DEBUG]
	case *pe.OptionalHeader32:
		dd = oh.DataDirectory[pe.IMAGE_DIRECTORY_ENTRY_DEBUG]
	}
	readRVA := func(rva, n uint32) []byte {
		for _, s := range f.Sections {
			if rva >= s.VirtualAddress && rva+n <= s.VirtualAddress+s.VirtualSize {
				data, err := s.Data()
				require.NoError(t, err)
				return data[rva-s.VirtualAddress:][:n]
			}
		}
		t.Fatalf("RVA %#x not in any section", rva)
		return nil
	}
	dir := readRVA(dd.VirtualAddress, dd.Size)
	for i := 0; i+28 <= len(dir); i += 28 {
		e := dir[i:]
		if binary.LittleEndian.Uint32(e[12:]) != 2 { // IMAGE_DEBUG_TYPE_CODEVIEW
			continue
		}
		cv := readRVA(binary.LittleEndian.Uint32(e[20:]), binary.LittleEndian.Uint32(e[16:]))
		require.Equal(t, "RSDS", string(cv[:4]))
		var g GUID
		copy(g[:], cv[4:20])
		name, _ := cstring(cv[24:])
		return g, binary.LittleEndian.Uint32(cv[20:]), string(name)
	}
	t.Fatalf("%s has no CodeView debug directory entry", image)
	return GUID{}, 0, ""
}

func writeFile(name string, b []byte) error { return os.WriteFile(name, b, 0o644) }
