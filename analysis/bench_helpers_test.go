package analysis_test

import (
	"os"
	"strconv"

	"github.com/poolprof/poolprof/stacks"
)

// stackCounter folds resolved stacks by their innermost frame, enough to
// make the benchmark pay for resolving every outstanding stack.
type stackCounter struct{ byLeaf map[uint64]int }

func (c *stackCounter) add(frames []uint64) {
	if c.byLeaf == nil {
		c.byLeaf = map[uint64]int{}
	}
	if len(frames) > 0 {
		c.byLeaf[frames[0]]++
	}
}

func refOf(stack uint32) stacks.Ref { return stacks.Ref(stack) }

func init() {
	if s := os.Getenv("POOLPROF_BENCH_SIZE"); s != "" {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			poolTraceSize = n
		}
	}
}
