package stacks_test

import (
	"os"

	"github.com/poolprof/poolprof/stacks"
)

// Fold allocation stacks (innermost frame first) and write them for
// flamegraph.pl: outermost caller first, bytes as the value.
func ExampleWriteFolded() {
	t := stacks.NewTree()
	t.Add([]string{"ntkrnlmp.exe!ExAllocatePoolWithTag", "ntkrnlmp.exe!SepDuplicateToken", "ntkrnlmp.exe!NtDuplicateToken"}, 6043, 6043*1664)
	t.Add([]string{"ntkrnlmp.exe!ExAllocatePoolWithTag", "leaky.sys+0x1a2b"}, 146, 146*64)
	t.Add(nil, 3, 300)
	stacks.WriteFolded(os.Stdout, t, stacks.ByBytes)
	// Output:
	// [no stack] 300
	// leaky.sys+0x1a2b;ntkrnlmp.exe!ExAllocatePoolWithTag 9344
	// ntkrnlmp.exe!NtDuplicateToken;ntkrnlmp.exe!SepDuplicateToken;ntkrnlmp.exe!ExAllocatePoolWithTag 10055552
}
