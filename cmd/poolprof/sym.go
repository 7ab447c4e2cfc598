package main

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/poolprof/poolprof/symbols"
)

const symUsage = "poolprof sym --pdb FILE.pdb [--inlines] RVA..."

// runSym names addresses with a PDB file: for each RVA (hexadecimal,
// with or without 0x) it prints "RVA<TAB>function+0xOFF<TAB>file:line",
// with "?" for an address no symbol covers and an empty file:line when
// the PDB has no line for it. With --inlines, the functions the compiler
// inlined at the address come first, innermost first, one line each:
// "RVA<TAB>function (inline)<TAB>file:line", as llvm-symbolizer
// --inlines lists them.
func runSym(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("sym")
	pdbPath := fs.String("pdb", "", "the PDB `file` to read")
	inlines := fs.Bool("inlines", false, "also list the functions inlined at each address, innermost first")
	pos, status, ok := parseArgs(fs, args, symUsage, stdout, stderr)
	if !ok {
		return status
	}
	usageErr := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "%s: %s\n", fs.Name(), fmt.Sprintf(format, a...))
		printFlagUsage(stderr, fs, symUsage)
		return exitUsage
	}
	if *pdbPath == "" {
		return usageErr("missing --pdb FILE")
	}
	if len(pos) == 0 {
		return usageErr("missing RVA")
	}
	rvas := make([]uint32, len(pos))
	for i, s := range pos {
		v, err := parseRVA(s)
		if err != nil {
			return usageErr("%v", err)
		}
		rvas[i] = v
	}
	p, err := symbols.OpenPDBFile(*pdbPath)
	if err != nil {
		fmt.Fprintf(stderr, "poolprof sym: %v\n", err)
		return exitFail
	}
	w := bufio.NewWriter(stdout)
	var inlined []symbols.Symbol
	for _, rva := range rvas {
		if *inlines {
			inlined = p.LookupInlined(rva, inlined[:0])
			for _, s := range inlined {
				w.WriteString(formatSym(rva, s.Name+" (inline)", s))
				w.WriteByte('\n')
			}
		}
		w.WriteString(symLine(p, rva))
		w.WriteByte('\n')
	}
	if err := w.Flush(); err != nil {
		fmt.Fprintf(stderr, "poolprof sym: writing output: %v\n", err)
		return exitFail
	}
	return exitOK
}

// parseRVA parses a 32-bit RVA in hexadecimal, with or without 0x, as
// debuggers take addresses.
func parseRVA(s string) (uint32, error) {
	h := strings.TrimPrefix(strings.TrimPrefix(s, "0x"), "0X")
	v, err := strconv.ParseUint(h, 16, 32)
	if h == "" || strings.HasPrefix(h, "+") || err != nil {
		return 0, fmt.Errorf("bad RVA %q: want a 32-bit hexadecimal number such as 0x1a2b", s)
	}
	return uint32(v), nil
}

// symLine formats one output line for rva.
func symLine(p *symbols.PDB, rva uint32) string {
	s, ok := p.Lookup(rva)
	if !ok {
		return formatSym(rva, "?", symbols.Symbol{})
	}
	return formatSym(rva, s.String(), s)
}

// formatSym formats "RVA<TAB>name<TAB>file:line", file:line from s.
func formatSym(rva uint32, name string, s symbols.Symbol) string {
	pos := ""
	if s.File != "" && s.Line > 0 {
		pos = s.File + ":" + strconv.Itoa(s.Line)
	}
	return "0x" + strconv.FormatUint(uint64(rva), 16) + "\t" + name + "\t" + pos
}
