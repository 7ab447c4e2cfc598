package pprof_test

import (
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/poolprof/poolprof/pool/pprof"
)

// inlineSamples: a driver whose leaking allocation is made by a helper
// (CsAllocateContext) that the compiler inlined into CsCreateContext,
// which itself was inlined into CsDispatchCreate; the same helper also
// inlined elsewhere.
func inlineSamples() []pprof.Sample {
	drv := &pprof.Module{Name: "contosec.sys", Start: 0x1000000, Limit: 0x1010000, BuildID: "AA1"}
	nt := &pprof.Module{Name: "ntkrnlmp.exe", Start: 0x4000000, Limit: 0x5000000}
	return []pprof.Sample{
		{
			Frames: []pprof.Frame{
				{Address: 0x4000100, Module: nt, Function: "ExAllocatePoolWithTag"},
				{Address: 0x1000230, Module: drv, Function: "CsDispatchCreate", File: `C:\src\cs.c`, Line: 90,
					Inlined: []pprof.InlinedFunction{
						{Function: "CsAllocateContext", File: `C:\src\ctx.h`, Line: 12},
						{Function: "CsCreateContext", File: `C:\src\cs.c`, Line: 40},
					}},
				{Address: 0x4000200, Module: nt, Function: "IofCallDriver"},
			},
			AllocObjects: 3, AllocBytes: 300, InuseObjects: 3, InuseBytes: 300,
		},
		{
			Frames: []pprof.Frame{
				{Address: 0x4000100, Module: nt, Function: "ExAllocatePoolWithTag"},
				{Address: 0x1000400, Module: drv, Function: "CsDispatchClose", File: `C:\src\cs.c`, Line: 120,
					Inlined: []pprof.InlinedFunction{{Function: "CsAllocateContext", File: `C:\src\ctx.h`, Line: 12}}},
			},
			AllocObjects: 1, AllocBytes: 100, InuseObjects: 1, InuseBytes: 100,
		},
	}
}

func TestInlinedFunctionsAreLocationLines(t *testing.T) {
	p, err := pprof.Build(inlineSamples(), pprof.Facts{})
	require.NoError(t, err)
	require.Len(t, p.Sample, 2)

	loc := p.Sample[0].Location[1]
	require.Len(t, loc.Line, 3, "two inlined functions and the one they were inlined into")
	var got []string
	for _, ln := range loc.Line {
		got = append(got, ln.Function.Name+" "+ln.Function.Filename+":"+strconv.FormatInt(ln.Line, 10))
	}
	assert.Equal(t, []string{
		`contosec.sys!CsAllocateContext C:\src\ctx.h:12`,
		`contosec.sys!CsCreateContext C:\src\cs.c:40`,
		`contosec.sys!CsDispatchCreate C:\src\cs.c:90`,
	}, got, "innermost first")
	assert.Equal(t, "CsAllocateContext", loc.Line[0].Function.SystemName)
	assert.Same(t, loc.Line[0].Function, p.Sample[1].Location[1].Line[0].Function, "one Function per inlined function")

	for _, m := range p.Mapping {
		assert.Equal(t, m.File == "contosec.sys", m.HasInlineFrames, "mapping %s", m.File)
	}
	// Without a function name there is nothing to inline into.
	s := inlineSamples()
	s[1].Frames[1].Function = ""
	p, err = pprof.Build(s, pprof.Facts{})
	require.NoError(t, err)
	assert.Len(t, p.Sample[1].Location[1].Line, 1)
	assert.Equal(t, "contosec.sys+0x400", p.Sample[1].Location[1].Line[0].Function.Name)
}

// go tool pprof shows inlined functions as frames of their own.
func TestGoToolPprofShowsInlinedFrames(t *testing.T) {
	rows := topRows(t, runGoPprof(t, inlineSamples(), pprof.Facts{DropFrames: pprof.AllocatorFrames}, "-top"))
	require.NotEmpty(t, rows)
	assert.Equal(t, "contosec.sys!CsAllocateContext (inline)", rows[0], "the inlined helper leads -top")
	assert.Contains(t, rows, "contosec.sys!CsCreateContext (inline)")
	assert.Contains(t, rows, "contosec.sys!CsDispatchCreate")
}
