package main

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const symFixture = "../../testdata/pdb/x64-full.pdb"

// markerLine returns "C:\src\src\FILE:N" where N is the line of
// testdata/pdb/src/FILE that carries "@marker" (the fixtures were built
// with /pdbsourcepath:C:\src from src/).
func markerLine(t *testing.T, file, marker string) string {
	t.Helper()
	f, err := os.Open(filepath.Join("../../testdata/pdb/src", file))
	require.NoError(t, err)
	defer f.Close()
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		if strings.Contains(sc.Text()+" ", "@"+marker+" ") {
			return `C:\src\src\` + file + ":" + strconv.Itoa(n)
		}
	}
	require.NoError(t, sc.Err())
	t.Fatalf("no @%s in %s", marker, file)
	return ""
}

func TestSym(t *testing.T) {
	code, out, errOut := runCmd(t, "sym", "--pdb", symFixture,
		"0x1070", "1000", "0X1110", "11ba", "0x1028", "0x3010", "0x0", "0xffffffff", "0x11bb")
	require.Equal(t, exitOK, code, errOut)
	assert.Empty(t, errOut)
	want := strings.Join([]string{
		"0x1070\tSepCopyTokenBody+0x10\t" + markerLine(t, "kern.c", "copy.loop"), // static: no public
		"0x1000\tExAllocatePoolWithTag+0x0\t" + markerLine(t, "kern.c", "alloc.body"),
		"0x1110\tSe::TokenCache::Lookup+0x0\t" + markerLine(t, "kcpp.cpp", "lookup.body"),
		"0x11ba\t`anonymous namespace'::Mix+0xa\t" + markerLine(t, "kcpp.cpp", "mix"),
		"0x1028\tExAllocatePoolWithTag+0x28\t", // padding after the function: public, no line
		"0x3010\tPoolCount+0x10\t",             // data
		"0x0\t?\t",                             // image header
		"0xffffffff\t?\t",
		"0x11bb\t?\t", // past .text
	}, "\n") + "\n"
	assert.Equal(t, want, out)

	// Flags after the RVAs work too.
	code, out, _ = runCmd(t, "sym", "0x1070", "--pdb", symFixture)
	assert.Equal(t, exitOK, code)
	assert.True(t, strings.HasPrefix(out, "0x1070\tSepCopyTokenBody+0x10\t"), out)
}

// With --inlines each address lists the functions inlined there first,
// innermost first (testdata/pdb/src/inl.c: Hash inlined into Mix inlined
// into Outer, Bump inlined into Outer). clang 14 writes no line for
// Outer's own code at inlined addresses.
func TestSymInlines(t *testing.T) {
	const pdb = "../../testdata/pdb/x64-inline.pdb"
	code, out, errOut := runCmd(t, "sym", "--pdb", pdb, "--inlines", "0x1000", "0x1010", "0x1040")
	require.Equal(t, exitOK, code, errOut)
	want := strings.Join([]string{
		"0x1000\tBump (inline)\t" + markerLine(t, "inl.c", "bump.body"),
		"0x1000\tOuter+0x0\t",
		"0x1010\tHash (inline)\t" + markerLine(t, "inl.c", "hash.body"),
		"0x1010\tMix (inline)\t" + markerLine(t, "inl.c", "mix.call"),
		"0x1010\tOuter+0x10\t",
		"0x1040\tKiSystemStartup+0x0\t" + markerLine(t, "inl.c", "start"),
	}, "\n") + "\n"
	assert.Equal(t, want, out)

	// Without --inlines, one line per address as before.
	code, out, _ = runCmd(t, "sym", "--pdb", pdb, "0x1010")
	assert.Equal(t, exitOK, code)
	assert.Equal(t, "0x1010\tOuter+0x10\t\n", out)
}

func TestSymErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{[]string{"sym", "0x1000"}, "missing --pdb FILE"},
		{[]string{"sym", "--pdb", symFixture}, "missing RVA"},
		{[]string{"sym", "--pdb", symFixture, "0x"}, `bad RVA "0x"`},
		{[]string{"sym", "--pdb", symFixture, "xyz"}, `bad RVA "xyz"`},
		{[]string{"sym", "--pdb", symFixture, "0x100000000"}, `bad RVA "0x100000000"`},
		{[]string{"sym", "--pdb", symFixture, "+10"}, `bad RVA "+10"`},
		{[]string{"sym", "--pdb"}, "flag needs an argument"},
	} {
		code, out, errOut := runCmd(t, tc.args...)
		assert.Equal(t, exitUsage, code, tc.args)
		assert.Empty(t, out, tc.args)
		assert.Contains(t, errOut, tc.msg, tc.args)
		assert.Contains(t, errOut, symUsage, tc.args)
	}

	code, out, _ := runCmd(t, "sym", "-h")
	assert.Equal(t, exitOK, code)
	assert.Contains(t, out, symUsage)
	assert.Contains(t, out, "-pdb")

	dir := t.TempDir()
	notPDB := filepath.Join(dir, "page.pdb")
	require.NoError(t, os.WriteFile(notPDB, []byte("<html>not found</html>"), 0o644))
	for _, name := range []string{notPDB, filepath.Join(dir, "missing.pdb")} {
		code, out, errOut := runCmd(t, "sym", "--pdb", name, "0x1000")
		assert.Equal(t, exitFail, code, name)
		assert.Empty(t, out, name)
		assert.Contains(t, errOut, name, name)
	}
}
