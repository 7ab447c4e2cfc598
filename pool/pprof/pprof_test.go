package pprof_test

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/pprof/profile"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/poolprof/poolprof/pool/pprof"
)

// The fixture: a 20-minute trace in which lsass.exe leaks token objects
// through ntkrnlmp.exe!SepDuplicateToken, called from an unsymbolized
// security driver, next to some ordinary file-system and IRP traffic and
// an allocation without a stack.
const (
	ntStart   = 0xfffff8034a200000
	ntfsStart = 0xfffff8034c000000
	fltStart  = 0xfffff8034d000000
	secStart  = 0xfffff8034f000000
	outside   = 0xffffe00012345678 // in no module

	tokeSize     = 1664
	tokeInuse    = 6043
	tokeInuseB   = tokeInuse * tokeSize // 10,055,552 bytes, pprof's "9.59MB"
	tokeAllocs   = 6100
	tokeFreedB   = 57 * tokeSize
	fileInuseB   = 300 * 1024
	noStackB     = 10 * 4096
	irpInuseB    = 5 * 480
	totalInuseB  = tokeInuseB + fileInuseB + noStackB + irpInuseB // 10,406,112 bytes, pprof's "9.92MB"
	ntBuildID    = "EC83D8DF555946E0B630133EBD9792662"
	secBuildID   = "0123456789ABCDEF0123456789ABCDEF1"
	traceSeconds = 1200
)

var traceStart = time.Date(2024, 3, 5, 14, 2, 7, 123456789, time.UTC)

func modules() (nt, ntfs, flt, sec *pprof.Module) {
	nt = &pprof.Module{Name: "ntkrnlmp.exe", Path: `\SystemRoot\system32\ntoskrnl.exe`,
		Start: ntStart, Limit: ntStart + 0x1046000, BuildID: ntBuildID, PDBName: "ntkrnlmp.pdb"}
	ntfs = &pprof.Module{Name: "Ntfs.sys", Path: `\SystemRoot\System32\Drivers\Ntfs.sys`,
		Start: ntfsStart, Limit: ntfsStart + 0x2f5000, BuildID: "5A1C0E5B9D0F4A5C8E1F2B3C4D5E6F701", PDBName: "ntfs.pdb"}
	flt = &pprof.Module{Name: "FLTMGR.SYS", Path: `\SystemRoot\System32\drivers\FLTMGR.SYS`,
		Start: fltStart, Limit: fltStart + 0x83000, BuildID: "11223344556677889900AABBCCDDEEFF2", PDBName: "fltMgr.pdb"}
	sec = &pprof.Module{Name: "secagent.sys", Path: `\SystemRoot\system32\drivers\secagent.sys`,
		Start: secStart, Limit: secStart + 0x40000, BuildID: secBuildID, PDBName: "secagent.pdb"}
	return
}

func fixture() ([]pprof.Sample, pprof.Facts) {
	nt, ntfs, flt, sec := modules()
	// A second, equal copy of the kernel module: mappings are per module
	// value, not per pointer.
	nt2 := *nt

	tokeStack := []pprof.Frame{
		{Address: ntStart + 0x3a8010, Module: nt, Function: "ExAllocatePoolWithTag"},
		{Address: ntStart + 0x5a3b10, Module: nt, Function: "SepDuplicateToken"},
		{Address: ntStart + 0x5a2f44, Module: nt, Function: "NtDuplicateToken"},
		{Address: ntStart + 0x40fd75, Module: nt, Function: "KiSystemServiceCopyEnd"},
		{Address: secStart + 0x1a2b, Module: sec},
		{Address: secStart + 0x9c40, Module: sec},
	}
	freedStack := []pprof.Frame{
		{Address: ntStart + 0x3a8010, Module: &nt2, Function: "ExAllocatePoolWithTag"},
		{Address: ntStart + 0x5a3b10, Module: &nt2, Function: "ntkrnlmp.exe!SepDuplicateToken"}, // already prefixed
		{Address: ntStart + 0x5a2f44, Module: &nt2, Function: "NtDuplicateToken"},
		{Address: ntStart + 0x40fd75, Module: &nt2, Function: "KiSystemServiceCopyEnd"},
		{Address: secStart + 0x1a2b, Module: sec},
	}
	fileStack := []pprof.Frame{
		{Address: ntStart + 0x3a8010, Module: nt, Function: "ExAllocatePoolWithTag"},
		{Address: ntfsStart + 0x1f3a0, Module: ntfs, Function: "NtfsCreateFcb"},
		{Address: ntfsStart + 0x2f00, Module: ntfs},
		{Address: fltStart + 0x6a12, Module: flt, Function: "FltpCreate", File: `minkernel\fs\filter\mgr\create.c`, Line: 1734},
		{Address: fltStart + 0x4a7e, Module: flt, Function: "FltpDispatch", File: `minkernel\fs\filter\mgr\dispatch.c`, Line: 512},
		{Address: ntStart + 0x2d51f0, Module: nt, Function: "IofCallDriver"},
	}
	irpStack := []pprof.Frame{
		{Address: ntStart + 0x3a8010, Module: nt, Function: "ExAllocatePoolWithTag"},
		{Address: outside},
		{Address: ntStart + 0x2d51f0, Module: nt, Function: "IofCallDriver"},
	}
	samples := []pprof.Sample{
		{
			Frames:       tokeStack,
			AllocObjects: tokeAllocs - 57, AllocBytes: (tokeAllocs - 57) * tokeSize,
			InuseObjects: tokeInuse, InuseBytes: tokeInuseB,
			Tag: "Toke", PoolType: "PagedPool", Paged: true, Lifetime: "AIFO",
			Process: "lsass.exe (712)", PID: 712,
		},
		{
			Frames:       freedStack,
			AllocObjects: 57, AllocBytes: tokeFreedB,
			Tag: "Toke", PoolType: "PagedPool", Paged: true, Lifetime: "AIFI",
			Process: "lsass.exe (712)", PID: 712,
		},
		{
			Frames:       fileStack,
			AllocObjects: 900, AllocBytes: 900 * 1024, InuseObjects: 300, InuseBytes: fileInuseB,
			Tag: "File", PoolType: "NonPagedPoolNx", Paged: false, Lifetime: "AIFO",
			Process: "System (4)", PID: 4,
		},
		{
			AllocObjects: 10, AllocBytes: noStackB, InuseObjects: 10, InuseBytes: noStackB,
			Tag: "MmSt", PoolType: "PagedPool", Paged: true, Lifetime: "AIFO",
		},
		{
			Frames:       irpStack,
			AllocObjects: 5, AllocBytes: irpInuseB, InuseObjects: 5, InuseBytes: irpInuseB,
			Tag: "Irp ", PoolType: "NonPagedPoolNx", Paged: false, Lifetime: "AIFO",
			Process: "svchost.exe (1044)", PID: 1044,
		},
	}
	facts := pprof.Facts{
		TraceFile:   "toke.etl",
		OS:          "Windows 10.0.17763 (x64)",
		Start:       traceStart,
		Duration:    traceSeconds * time.Second,
		EventsLost:  3,
		BuffersLost: 1,
		Notes:       []string{"inuse = outstanding at the end of the trace (AIFO); alloc = allocated during it"},
		DropFrames:  pprof.AllocatorFrames,
	}
	return samples, facts
}

func writeParse(t *testing.T, samples []pprof.Sample, facts pprof.Facts) (*profile.Profile, []byte) {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, pprof.Write(&buf, samples, facts))
	data := buf.Bytes()
	require.Greater(t, len(data), 2)
	assert.Equal(t, []byte{0x1f, 0x8b}, data[:2], "gzip magic")
	p, err := profile.Parse(bytes.NewReader(data))
	require.NoError(t, err)
	require.NoError(t, p.CheckValid())
	return p, data
}

// funcNames returns the function names of a sample's stack, innermost first.
func funcNames(s *profile.Sample) []string {
	var names []string
	for _, l := range s.Location {
		for _, ln := range l.Line {
			names = append(names, ln.Function.Name)
		}
	}
	return names
}

func TestRoundTrip(t *testing.T) {
	samples, facts := fixture()
	p, _ := writeParse(t, samples, facts)

	t.Run("header", func(t *testing.T) {
		var types []string
		for _, st := range p.SampleType {
			types = append(types, st.Type+"/"+st.Unit)
		}
		assert.Equal(t, []string{"alloc_objects/count", "alloc_space/bytes", "inuse_objects/count", "inuse_space/bytes"}, types)
		assert.Equal(t, "inuse_space", p.DefaultSampleType)
		require.NotNil(t, p.PeriodType)
		assert.Equal(t, "space", p.PeriodType.Type)
		assert.Equal(t, "bytes", p.PeriodType.Unit)
		assert.Equal(t, int64(1), p.Period)
		assert.Equal(t, traceStart.UnixNano(), p.TimeNanos)
		assert.Equal(t, int64(traceSeconds*time.Second), p.DurationNanos)
		assert.Equal(t, pprof.AllocatorFrames, p.DropFrames)
	})

	t.Run("comments", func(t *testing.T) {
		assert.Equal(t, []string{
			"Trace: toke.etl",
			"OS: Windows 10.0.17763 (x64)",
			"Lost: 3 events, 1 buffers",
			"inuse = outstanding at the end of the trace (AIFO); alloc = allocated during it",
			"# Trace start: 2024-03-05T14:02:07.123456789Z",
			"# Trace duration: 20m0s",
			`# module ntkrnlmp.exe [0xfffff8034a200000, 0xfffff8034b246000) path \SystemRoot\system32\ntoskrnl.exe pdb ntkrnlmp.pdb build id EC83D8DF555946E0B630133EBD9792662`,
			`# module Ntfs.sys [0xfffff8034c000000, 0xfffff8034c2f5000) path \SystemRoot\System32\Drivers\Ntfs.sys pdb ntfs.pdb build id 5A1C0E5B9D0F4A5C8E1F2B3C4D5E6F701`,
			`# module FLTMGR.SYS [0xfffff8034d000000, 0xfffff8034d083000) path \SystemRoot\System32\drivers\FLTMGR.SYS pdb fltMgr.pdb build id 11223344556677889900AABBCCDDEEFF2`,
			`# module secagent.sys [0xfffff8034f000000, 0xfffff8034f040000) path \SystemRoot\system32\drivers\secagent.sys pdb secagent.pdb build id 0123456789ABCDEF0123456789ABCDEF1`,
		}, p.Comments)
	})

	t.Run("samples", func(t *testing.T) {
		require.Len(t, p.Sample, len(samples))
		for i, s := range samples {
			ps := p.Sample[i]
			assert.Equal(t, []int64{s.AllocObjects, s.AllocBytes, s.InuseObjects, s.InuseBytes}, ps.Value, "sample %d values", i)
			want := map[string][]string{
				"pooltag":  {s.Tag},
				"pooltype": {s.PoolType},
				"paged":    {map[bool]string{true: "true", false: "false"}[s.Paged]},
				"lifetime": {s.Lifetime},
			}
			if s.Process != "" {
				want["process"] = []string{s.Process}
				assert.Equal(t, map[string][]int64{"pid": {s.PID}}, ps.NumLabel, "sample %d pid", i)
			} else {
				assert.Empty(t, ps.NumLabel, "sample %d pid", i)
			}
			assert.Equal(t, want, ps.Label, "sample %d labels", i)
		}
		assert.Equal(t, []string{
			"ntkrnlmp.exe!ExAllocatePoolWithTag",
			"ntkrnlmp.exe!SepDuplicateToken",
			"ntkrnlmp.exe!NtDuplicateToken",
			"ntkrnlmp.exe!KiSystemServiceCopyEnd",
			"secagent.sys+0x1a2b",
			"secagent.sys+0x9c40",
		}, funcNames(p.Sample[0]))
		assert.Equal(t, funcNames(p.Sample[0])[:5], funcNames(p.Sample[1]), "a prefixed name is not prefixed twice")
		assert.Equal(t, []string{
			"ntkrnlmp.exe!ExAllocatePoolWithTag",
			"Ntfs.sys!NtfsCreateFcb",
			"Ntfs.sys+0x2f00",
			"FLTMGR.SYS!FltpCreate",
			"FLTMGR.SYS!FltpDispatch",
			"ntkrnlmp.exe!IofCallDriver",
		}, funcNames(p.Sample[2]))
		assert.Equal(t, []string{pprof.NoStack}, funcNames(p.Sample[3]))
		assert.Equal(t, []string{
			"ntkrnlmp.exe!ExAllocatePoolWithTag",
			"0xffffe00012345678",
			"ntkrnlmp.exe!IofCallDriver",
		}, funcNames(p.Sample[4]))
	})

	t.Run("mappings", func(t *testing.T) {
		type m struct {
			ID, Start, Limit, Offset        uint64
			File, BuildID                   string
			Functions, Filenames, LineNumbs bool
		}
		var got []m
		for _, pm := range p.Mapping {
			got = append(got, m{pm.ID, pm.Start, pm.Limit, pm.Offset, pm.File, pm.BuildID,
				pm.HasFunctions, pm.HasFilenames, pm.HasLineNumbers})
		}
		assert.Equal(t, []m{
			// Every kernel frame is named, none has a file.
			{1, ntStart, ntStart + 0x1046000, 0, `\SystemRoot\system32\ntoskrnl.exe`, ntBuildID, true, false, false},
			// One named frame, one not: the synthetic name does not count.
			{2, ntfsStart, ntfsStart + 0x2f5000, 0, `\SystemRoot\System32\Drivers\Ntfs.sys`, "5A1C0E5B9D0F4A5C8E1F2B3C4D5E6F701", false, false, false},
			// Named with files and lines.
			{3, fltStart, fltStart + 0x83000, 0, `\SystemRoot\System32\drivers\FLTMGR.SYS`, "11223344556677889900AABBCCDDEEFF2", true, true, true},
			// No symbols at all.
			{4, secStart, secStart + 0x40000, 0, `\SystemRoot\system32\drivers\secagent.sys`, secBuildID, false, false, false},
		}, got)
	})

	t.Run("locations", func(t *testing.T) {
		// Distinct addresses: kernel 5, Ntfs 2, fltmgr 2, secagent 2,
		// outside 1, and the [no stack] frame.
		require.Len(t, p.Location, 13)
		seen := map[uint64]bool{}
		for i, l := range p.Location {
			assert.Equal(t, uint64(i+1), l.ID)
			assert.False(t, seen[l.Address] && l.Mapping != nil, "address %#x twice", l.Address)
			seen[l.Address] = true
			require.Len(t, l.Line, 1)
			if l.Mapping != nil {
				assert.True(t, l.Mapping.Start <= l.Address && l.Address < l.Mapping.Limit, "location %d in its mapping", l.ID)
			}
		}
		// The allocator frame is shared by four samples through one Location.
		alloc := p.Sample[0].Location[0]
		for _, i := range []int{1, 2, 4} {
			assert.Same(t, alloc, p.Sample[i].Location[0], "sample %d", i)
		}
		assert.Equal(t, uint64(ntStart+0x3a8010), alloc.Address)
		assert.Equal(t, uint64(1), alloc.Mapping.ID)

		sd := p.Sample[0].Location[1].Line[0].Function
		assert.Equal(t, "ntkrnlmp.exe!SepDuplicateToken", sd.Name)
		assert.Equal(t, "SepDuplicateToken", sd.SystemName)

		fc := p.Sample[2].Location[3]
		assert.Equal(t, `minkernel\fs\filter\mgr\create.c`, fc.Line[0].Function.Filename)
		assert.Equal(t, int64(1734), fc.Line[0].Line)

		out := p.Sample[4].Location[1]
		assert.Nil(t, out.Mapping)
		assert.Equal(t, uint64(outside), out.Address)

		ns := p.Sample[3].Location
		require.Len(t, ns, 1)
		assert.Nil(t, ns[0].Mapping)
		assert.Equal(t, uint64(0), ns[0].Address)

		// Synthetic names carry no system name, so pprof's demangler
		// leaves them alone.
		assert.Empty(t, p.Sample[0].Location[4].Line[0].Function.SystemName)
		assert.Equal(t, int64(0), p.Sample[0].Location[4].Line[0].Line)
	})

	t.Run("functions", func(t *testing.T) {
		var names []string
		for i, f := range p.Function {
			assert.Equal(t, uint64(i+1), f.ID)
			names = append(names, f.Name)
		}
		assert.IsNonDecreasing(t, names)
		assert.Len(t, names, 13)
	})
}

func TestDeterministic(t *testing.T) {
	samples, facts := fixture()
	var first bytes.Buffer
	require.NoError(t, pprof.Write(&first, samples, facts))
	for range 5 {
		samples, facts := fixture() // fresh Module pointers each time
		var again bytes.Buffer
		require.NoError(t, pprof.Write(&again, samples, facts))
		require.Equal(t, first.Bytes(), again.Bytes())
	}
}

func TestEmpty(t *testing.T) {
	p, _ := writeParse(t, nil, pprof.Facts{})
	assert.Empty(t, p.Sample)
	assert.Empty(t, p.Mapping)
	assert.Equal(t, []string{"Lost: 0 events, 0 buffers"}, p.Comments)
	assert.Equal(t, int64(0), p.TimeNanos)
}

func TestUnnamedModule(t *testing.T) {
	m := &pprof.Module{Path: `\??\C:\Drivers\foo.sys`, Start: 0x1000, Limit: 0x2000}
	anon := &pprof.Module{Start: 0x8000, Limit: 0x9000}
	p, err := pprof.Build([]pprof.Sample{{
		Frames:     []pprof.Frame{{Address: 0x1010, Module: m}, {Address: 0x8020, Module: anon}},
		InuseBytes: 1,
	}}, pprof.Facts{})
	require.NoError(t, err)
	assert.Equal(t, []string{"foo.sys+0x10", "0x8000+0x20"}, funcNames(p.Sample[0]))
	assert.Equal(t, `\??\C:\Drivers\foo.sys`, p.Mapping[0].File)
	assert.Empty(t, p.Mapping[1].File)
}

func TestBuildErrors(t *testing.T) {
	for _, tc := range []struct {
		name    string
		mutate  func(s []pprof.Sample, f *pprof.Facts)
		wantErr string
	}{
		{"negative value", func(s []pprof.Sample, f *pprof.Facts) { s[2].InuseBytes = -1 }, "sample 2: negative value"},
		{"address below module", func(s []pprof.Sample, f *pprof.Facts) { s[0].Frames[1].Address = ntStart - 1 }, "sample 0 frame 1: address 0xfffff8034a1fffff outside module \"ntkrnlmp.exe\""},
		{"address at limit", func(s []pprof.Sample, f *pprof.Facts) { s[0].Frames[4].Address = secStart + 0x40000 }, "sample 0 frame 4: address 0xfffff8034f040000 outside module \"secagent.sys\""},
		{"empty module", func(s []pprof.Sample, f *pprof.Facts) {
			m := *s[4].Frames[0].Module
			m.Limit = m.Start
			s[4].Frames[0].Module = &m
		}, "sample 4 frame 0: module \"ntkrnlmp.exe\" has limit"},
		{"bad drop frames", func(s []pprof.Sample, f *pprof.Facts) { f.DropFrames = "(" }, "pprof: drop frames:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			samples, facts := fixture()
			tc.mutate(samples, &facts)
			p, err := pprof.Build(samples, facts)
			require.ErrorContains(t, err, tc.wantErr)
			assert.Nil(t, p)
			assert.Error(t, pprof.Write(&bytes.Buffer{}, samples, facts))
		})
	}
}

type failWriter struct{ n int }

func (w *failWriter) Write(b []byte) (int, error) {
	if w.n <= 0 {
		return 0, errors.New("disk full")
	}
	w.n--
	return len(b), nil
}

func TestWriteError(t *testing.T) {
	samples, facts := fixture()
	// Fail on the first write (the body) and on a later one (the gzip
	// trailer written by Close).
	for _, n := range []int{0, 1, 2} {
		err := pprof.Write(&failWriter{n: n}, samples, facts)
		assert.ErrorContains(t, err, "disk full", "after %d writes", n)
	}
}

var update = flag.Bool("update", false, "rewrite golden files in testdata")

// TestGolden compares the profile's text form with testdata/toke.string.
func TestGolden(t *testing.T) {
	samples, facts := fixture()
	p, _ := writeParse(t, samples, facts)
	p.TimeNanos = 0 // String prints it in the local time zone
	got := p.String()
	golden := filepath.Join("testdata", "toke.string")
	if *update {
		require.NoError(t, os.MkdirAll("testdata", 0o755))
		require.NoError(t, os.WriteFile(golden, []byte(got), 0o644))
	}
	want, err := os.ReadFile(golden)
	require.NoError(t, err, "run go test -update to create it")
	assert.Equal(t, strings.ReplaceAll(string(want), "\r\n", "\n"), got)
}
