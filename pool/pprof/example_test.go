package pprof_test

import (
	"bytes"
	"fmt"
	"log"
	"time"

	"github.com/google/pprof/profile"

	"github.com/poolprof/poolprof/pool/pprof"
)

// Build a profile of a token leak, write it as `go tool pprof` reads it,
// and read it back.
func Example() {
	nt := &pprof.Module{
		Name: "ntkrnlmp.exe", Path: `\SystemRoot\system32\ntoskrnl.exe`,
		Start: 0xfffff8034a200000, Limit: 0xfffff8034b246000,
		BuildID: "EC83D8DF555946E0B630133EBD9792662", PDBName: "ntkrnlmp.pdb",
	}
	driver := &pprof.Module{Name: "secagent.sys", Start: 0xfffff8034f000000, Limit: 0xfffff8034f040000}
	samples := []pprof.Sample{
		{
			Frames: []pprof.Frame{ // innermost first
				{Address: 0xfffff8034a5a8010, Module: nt, Function: "ExAllocatePoolWithTag"},
				{Address: 0xfffff8034a7a3b10, Module: nt, Function: "SepDuplicateToken"},
				{Address: 0xfffff8034f001a2b, Module: driver}, // no symbols
			},
			AllocObjects: 6043, AllocBytes: 6043 * 1664,
			InuseObjects: 6043, InuseBytes: 6043 * 1664,
			Tag: "Toke", PoolType: "PagedPool", Paged: true, Lifetime: "AIFO",
			Process: "lsass.exe (712)", PID: 712,
		},
		{ // an allocation without a stack
			AllocObjects: 1, AllocBytes: 4096, InuseObjects: 1, InuseBytes: 4096,
			Tag: "MmSt", PoolType: "PagedPool", Paged: true, Lifetime: "AIFO",
		},
	}
	facts := pprof.Facts{
		TraceFile:  "toke.etl",
		Start:      time.Date(2024, 3, 5, 14, 2, 7, 0, time.UTC),
		Duration:   20 * time.Minute,
		DropFrames: pprof.AllocatorFrames,
	}

	var buf bytes.Buffer // or the file `go tool pprof` will open
	if err := pprof.Write(&buf, samples, facts); err != nil {
		log.Fatal(err)
	}

	p, err := profile.Parse(&buf)
	if err != nil {
		log.Fatal(err)
	}
	for _, st := range p.SampleType {
		fmt.Printf("%s/%s ", st.Type, st.Unit)
	}
	fmt.Println("default", p.DefaultSampleType)
	for _, s := range p.Sample {
		fmt.Printf("%s %s %d bytes:", s.Label["pooltag"][0], s.Label["lifetime"][0], s.Value[3])
		for _, loc := range s.Location {
			fmt.Printf(" %s", loc.Line[0].Function.Name)
		}
		fmt.Println()
	}
	for _, m := range p.Mapping {
		fmt.Printf("mapping %s build id %q functions %v\n", m.File, m.BuildID, m.HasFunctions)
	}
	fmt.Println(p.Comments[0])
	fmt.Println(time.Duration(p.DurationNanos))
	// Output:
	// alloc_objects/count alloc_space/bytes inuse_objects/count inuse_space/bytes default inuse_space
	// Toke AIFO 10055552 bytes: ntkrnlmp.exe!ExAllocatePoolWithTag ntkrnlmp.exe!SepDuplicateToken secagent.sys+0x1a2b
	// MmSt AIFO 4096 bytes: [no stack]
	// mapping \SystemRoot\system32\ntoskrnl.exe build id "EC83D8DF555946E0B630133EBD9792662" functions true
	// mapping secagent.sys build id "" functions false
	// Trace: toke.etl
	// 20m0s
}
