package main

import (
	"fmt"
	"io"

	"github.com/poolprof/poolprof/analysis"
	"github.com/poolprof/poolprof/stacks"
)

const stacksUsage = "poolprof stacks [--format text|folded|json] [--value bytes|count] [--type AIFO] [--symbols PATH] [--offline] [--no-symbols] [filters] FILE"

// runStacks folds the stacks of the selected allocations (by default those
// still outstanding, AIFO) so the chain that leaks stands out.
func runStacks(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("stacks")
	format := newChoice("text", "text", "folded", "json")
	fs.Var(format, "format", "output format: text (a call tree), folded (flame graph input) or json")
	value := newChoice("bytes", "bytes", "count")
	fs.Var(value, "value", "what the tree and folded lines count: bytes or count")
	var a analysisFlags
	a.register(fs, "AIFO")
	var sf symbolFlags
	sf.register(fs, true)
	pos, status, ok := parseArgs(fs, args, stacksUsage, stdout, stderr)
	if !ok {
		return status
	}
	name, ok := oneFile(fs, pos, stacksUsage, stderr)
	if !ok {
		return exitUsage
	}
	symPath, status, ok := sf.symbolPath("stacks", stderr)
	if !ok {
		return status
	}
	res, status := analyze("stacks", name, &a, true, stderr)
	if res == nil {
		return status
	}
	counts := analysis.StackCounts(res)
	namer := symbolNamer("stacks", name, res, poolRefs(res), symPath, &sf, stderr)
	measure := stacks.ByBytes
	if value.value == "count" {
		measure = stacks.ByCount
	}
	var err error
	switch format.value {
	case "json":
		err = stacks.WriteJSON(stdout, counts.Samples(res.Stacks, namer))
	case "folded":
		err = stacks.WriteFolded(stdout, counts.Tree(res.Stacks, namer), measure)
	default:
		err = stacks.WriteTree(stdout, counts.Tree(res.Stacks, namer), measure)
	}
	if err != nil {
		fmt.Fprintf(stderr, "poolprof stacks: %v\n", err)
		return exitFail
	}
	warnHealth(stderr, "stacks", name, &res.Health)
	return exitOK
}
