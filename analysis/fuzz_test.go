package analysis_test

import (
	"bytes"
	"io"
	"math"
	"testing"
	"time"

	"github.com/poolprof/poolprof/analysis"
	"github.com/poolprof/poolprof/etl"
	"github.com/poolprof/poolprof/internal/tokeleak"
	"github.com/poolprof/poolprof/pool"
	"github.com/poolprof/poolprof/pool/pprof"
	"github.com/poolprof/poolprof/stacks"
)

// FuzzAnalysis runs the whole analysis and every report on arbitrary
// traces: damaged example traces as much as well-formed ones. The reader
// has its own fuzz target; this one looks for what decodes but makes no
// sense (images that overlap or wrap, frees of unknown blocks, stacks
// for events that never came) and checks that no report breaks on it.
// Invariants: no panic; an analysis of an opened file succeeds (damage is
// reported in Health, not as an error); the pprof profile builds and is
// valid; its inuse totals are the outstanding allocations'.
//
// Run it with:
//
//	go test ./analysis -run '^$' -fuzz '^FuzzAnalysis$' -fuzztime 100000x
func FuzzAnalysis(f *testing.F) {
	for _, compressed := range []bool{false, true} {
		var buf bytes.Buffer
		_, err := tokeleak.Build(&buf, tokeleak.Options{Compressed: compressed, Leaked: 12, Background: 40, Duration: 10 * time.Second})
		if err != nil {
			f.Fatal(err)
		}
		f.Add(buf.Bytes())
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := etl.NewFile(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return // the reader's fuzz target covers this
		}
		opts := analysis.Options{Pool: pool.Options{Series: pool.SeriesOptions{Width: 1 << 20, Top: 3}}}
		res, err := analysis.Run(file, opts)
		if err != nil {
			t.Fatalf("analysis of an in-memory file failed: %v", err)
		}

		for _, write := range []func(io.Writer, *pool.Result, pool.ReportOptions) error{pool.WriteText, pool.WriteJSON, pool.WriteCSV} {
			if err := write(io.Discard, res.Pool, pool.ReportOptions{}); err != nil {
				t.Fatalf("summary: %v", err)
			}
		}
		if res.Pool.Series != nil {
			if err := pool.WriteSeriesCSV(io.Discard, res.Pool.Series, func(ts int64) string { return file.Time(ts).String() }); err != nil {
				t.Fatalf("series: %v", err)
			}
		}

		counts := analysis.StackCounts(res)
		var inuse uint64
		overflow := false
		for i := range res.Pool.Outstanding {
			al := &res.Pool.Outstanding[i]
			overflow = overflow || al.Size > math.MaxInt64-inuse
			inuse += al.Size
		}
		tree := counts.Tree(res.Stacks, res.Modules)
		if err := stacks.WriteFolded(io.Discard, tree, stacks.ByBytes); err != nil {
			t.Fatalf("folded: %v", err)
		}
		if err := stacks.WriteTree(io.Discard, tree, stacks.ByCount); err != nil {
			t.Fatalf("tree: %v", err)
		}
		if err := stacks.WriteJSON(io.Discard, counts.Samples(res.Stacks, res.Modules)); err != nil {
			t.Fatalf("stacks json: %v", err)
		}

		samples := analysis.ProfileSamples(res, nil)
		facts := analysis.ProfileFacts(res, "fuzz.etl")
		facts.DropFrames = analysis.AllocatorFrames(samples)
		p, err := pprof.Build(samples, facts)
		if err != nil {
			t.Fatalf("pprof: %v", err)
		}
		var got uint64
		for _, s := range p.Sample {
			if s.Value[3] < 0 {
				t.Fatalf("negative inuse_space %d", s.Value[3])
			}
			got += uint64(s.Value[3])
		}
		if !overflow && got != inuse {
			t.Fatalf("pprof inuse_space %d, outstanding bytes %d", got, inuse)
		}
	})
}
