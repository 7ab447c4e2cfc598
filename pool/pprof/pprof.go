// Package pprof turns pool allocations, folded by stack, into a pprof
// profile that `go tool pprof` opens as it is.
//
// It is the only package of poolprof that imports
// github.com/google/pprof/profile, and it depends on no other poolprof
// package: the caller fills the small input types [Module], [Frame],
// [Sample] and [Facts] from its analysis and calls [Build] or [Write].
//
// # Layout of the profile
//
// Sample types are those of a Go heap profile, in the same order:
// alloc_objects/count, alloc_space/bytes, inuse_objects/count and
// inuse_space/bytes, so pprof's -alloc_objects, -alloc_space,
// -inuse_objects and -inuse_space work unchanged; the default is
// inuse_space. Pool traces are not sampled: the period is 1 byte and no
// value is scaled. By convention inuse_* is what is outstanding at the end
// of the window (AIFO, plus AOFO for a window narrower than the trace) and
// alloc_* is what was allocated inside it; the caller decides and [Facts]
// can say so in a note.
//
// Every sample carries the string labels pooltag, pooltype, paged
// ("true" or "false"), lifetime and process, and the numeric label pid
// (see [LabelTag] and the other constants). A string label is left out
// when its value is empty; pid is left out when both Process and PID are
// unset. pprof's -tagfocus, -tagignore, -tags, -tagroot and -tagleaf work
// on them, for example -tagfocus pooltag=Toke or -tagroot pooltag.
//
// Each module that a frame points into becomes one Mapping: Start and
// Limit from the module, Offset 0, File the module's path (its name when
// the path is unknown) and BuildID the module's PDB GUID and age as a
// symbol store writes them. Locations hold absolute addresses, one
// Location per distinct (module, address).
//
// A frame with inlined functions becomes one Location with several
// lines, the innermost function first and the one they were inlined into
// last, as pprof expects; its Mapping then claims HasInlineFrames.
//
// Functions are named as WPA and `poolprof stacks` name frames:
//
//   - a symbolized frame is "module!function" (SystemName holds the bare
//     function name, Filename the source file when known);
//   - an unsymbolized frame inside a module is "module+0xRVA", lowercase
//     hex without padding, for example "ntkrnlmp.exe+0x5a3b10";
//   - a frame outside every module is "0xADDRESS", without a mapping.
//
// The names of unsymbolized frames are synthetic, so a Mapping claims
// HasFunctions only when every one of its frames was named, and
// HasFilenames or HasLineNumbers only when, in addition, every frame has a
// file or a line. pprof therefore still tries to symbolize the other
// mappings itself (from PPROF_BINARY_PATH, keyed by build id) and keeps the
// synthetic names when it cannot; it then prints "Local symbolization
// failed" on stderr, which is harmless.
//
// A sample whose stack is empty gets one synthetic frame named [NoStack]
// ("[no stack]", no mapping, address 0). Without it pprof would count its
// bytes in the total but show them on no line of -top, so the flat column
// would not add up; with it they appear as a row of their own.
//
// [Facts] go into the profile's time, duration and comments. pprof prints
// the comments that do not start with '#' above every report ("Trace:",
// "OS:", "Window:", "Lost: N events, M buffers" and the notes) and all of
// them with -comments; the '#' ones hold the exact trace start and
// duration (pprof's own Time and Duration lines round them) and one line
// per mapped module with its path, PDB name and build id, which is what a
// symbol store lookup needs. Facts.DropFrames sets the profile's
// drop_frames regular expression; [AllocatorFrames] hides the kernel's
// allocator entry points so that -top shows the functions that asked for
// the memory.
//
// # Determinism
//
// Output depends only on the input: mappings are numbered in address
// order, locations by (mapping, address), functions by name; samples keep
// the caller's order and pprof sorts label keys when encoding. Golden
// tests can therefore compare bytes.
package pprof

import (
	"cmp"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/pprof/profile"
)

// Label keys of every sample.
const (
	LabelTag      = "pooltag"  // the four-character pool tag, e.g. "Toke"
	LabelPoolType = "pooltype" // the pool type, e.g. "PagedPool"
	LabelPaged    = "paged"    // "true" or "false"
	LabelLifetime = "lifetime" // AIFO, AIFI, AOFI or AOFO
	LabelProcess  = "process"  // e.g. "lsass.exe (712)"
	LabelPID      = "pid"      // numeric, no unit
)

// NoStack is the name of the synthetic frame given to a sample with an
// empty stack.
const NoStack = "[no stack]"

// AllocatorFrames is a regular expression for Facts.DropFrames that
// matches the kernel's pool allocator entry points (ExAllocatePool,
// ExAllocatePoolWithTag, ExAllocatePool2 and the other ExAllocatePool*
// exports, and ExAllocateHeapPool) in any kernel image. pprof drops a
// matching frame and every frame it called, so the caller of the
// allocator becomes the leaf: `go tool pprof -top` then ranks, say,
// ntkrnlmp.exe!SepDuplicateToken rather than ExAllocatePoolWithTag. The
// frames stay in the file; only pprof's view omits them. Unsymbolized
// kernel frames do not match.
const AllocatorFrames = `(?i:nt[a-z0-9]*\.exe)!(ExAllocatePool[0-9A-Za-z]*|ExAllocateHeapPool)`

// Module is an image loaded in system space or in a process.
type Module struct {
	Name         string // original file name, e.g. "ntkrnlmp.exe"
	Path         string // path as the trace gives it
	Start, Limit uint64 // [Start, Limit) in memory
	// BuildID is the PDB GUID and age as symbol stores write them: the
	// GUID in upper-case hex without dashes, then the age in hex, e.g.
	// "EC83D8DF555946E0B630133EBD9792662". It is copied as given.
	BuildID string
	PDBName string // e.g. "ntkrnlmp.pdb"
}

// Frame is one return address of a stack.
type Frame struct {
	Address  uint64
	Module   *Module // nil outside every module
	Function string  // bare function name; "" when not symbolized
	File     string  // source file, when known
	Line     int     // source line, when known (> 0)
	// Inlined are the functions the compiler inlined into Function at
	// Address, innermost first, each with its own position; Line is then
	// the call site of the outermost of them. Ignored when Function is
	// "".
	Inlined []InlinedFunction
}

// InlinedFunction is a function inlined at a frame's address.
type InlinedFunction struct {
	Function string // bare function name
	File     string // source file, when known
	Line     int    // source line, when known (> 0)
}

// Sample is a set of allocations that share a stack and labels.
type Sample struct {
	Frames []Frame // innermost first

	AllocObjects, AllocBytes, InuseObjects, InuseBytes int64

	Tag      string // four characters as printed, e.g. "Toke"
	PoolType string // e.g. "PagedPool"
	Paged    bool
	Lifetime string // AIFO, AIFI, AOFI or AOFO
	Process  string // e.g. "lsass.exe (712)"
	PID      int64
}

// Facts describe the trace behind the profile. Empty fields are left out.
type Facts struct {
	TraceFile   string
	OS          string
	Start       time.Time     // becomes TimeNanos
	Duration    time.Duration // becomes DurationNanos
	Window      string        // e.g. "0s-1200s", when narrower than the trace
	EventsLost  int64
	BuffersLost int64
	Notes       []string // one comment each

	// DropFrames becomes the profile's drop_frames: a regular expression
	// that pprof matches against whole function names. Empty keeps every
	// frame; AllocatorFrames hides the pool allocator.
	DropFrames string
}

// Build returns a valid profile of samples: it calls CheckValid before it
// returns. It fails on a negative sample value, a module whose Limit is
// not above its Start, a frame outside the module it names, or an invalid
// DropFrames expression.
func Build(samples []Sample, facts Facts) (*profile.Profile, error) {
	if facts.DropFrames != "" {
		if _, err := regexp.Compile("^(" + facts.DropFrames + ")$"); err != nil {
			return nil, fmt.Errorf("pprof: drop frames: %w", err)
		}
	}
	b := builder{
		mappings:  map[Module]*profile.Mapping{},
		locations: map[locKey]*locInfo{},
	}
	for i := range samples {
		if err := b.scan(i, &samples[i]); err != nil {
			return nil, err
		}
	}
	b.number()

	p := &profile.Profile{
		SampleType: []*profile.ValueType{
			{Type: "alloc_objects", Unit: "count"},
			{Type: "alloc_space", Unit: "bytes"},
			{Type: "inuse_objects", Unit: "count"},
			{Type: "inuse_space", Unit: "bytes"},
		},
		DefaultSampleType: "inuse_space",
		PeriodType:        &profile.ValueType{Type: "space", Unit: "bytes"},
		Period:            1,
		DurationNanos:     int64(facts.Duration),
		DropFrames:        facts.DropFrames,
		Mapping:           b.mappingList,
		Location:          b.locationList,
		Function:          b.functionList,
		Comments:          comments(facts, b.mappingList, b.modules),
	}
	if !facts.Start.IsZero() {
		p.TimeNanos = facts.Start.UnixNano()
	}
	p.Sample = make([]*profile.Sample, len(samples))
	for i := range samples {
		p.Sample[i] = b.sample(&samples[i])
	}
	if err := p.CheckValid(); err != nil {
		return nil, fmt.Errorf("pprof: built an invalid profile: %w", err)
	}
	return p, nil
}

// Write builds the profile of samples and writes it gzip-compressed, the
// form `go tool pprof` reads. It reports a failure to finish the gzip
// stream as well as a failed write.
func Write(w io.Writer, samples []Sample, facts Facts) error {
	p, err := Build(samples, facts)
	if err != nil {
		return err
	}
	zw := gzip.NewWriter(w)
	if err := p.WriteUncompressed(zw); err != nil {
		return errors.Join(fmt.Errorf("pprof: writing profile: %w", err), zw.Close())
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("pprof: writing profile: %w", err)
	}
	return nil
}

// locKey identifies a Location: one per distinct address within a module
// (mod nil outside every module), plus the synthetic [NoStack] frame.
type locKey struct {
	mod     *profile.Mapping
	addr    uint64
	noStack bool
}

type locInfo struct {
	frame Frame // the first named frame seen at this address, else the first
	loc   *profile.Location
}

type builder struct {
	mappings  map[Module]*profile.Mapping
	modules   map[*profile.Mapping]Module
	locations map[locKey]*locInfo

	mappingList  []*profile.Mapping
	locationList []*profile.Location
	functionList []*profile.Function
}

// scan records the modules and addresses of sample i and checks its values.
func (b *builder) scan(i int, s *Sample) error {
	if s.AllocObjects < 0 || s.AllocBytes < 0 || s.InuseObjects < 0 || s.InuseBytes < 0 {
		return fmt.Errorf("pprof: sample %d: negative value", i)
	}
	if len(s.Frames) == 0 {
		b.location(locKey{noStack: true}, Frame{Function: NoStack})
		return nil
	}
	for j, f := range s.Frames {
		var m *profile.Mapping
		if f.Module != nil {
			mod := *f.Module
			if mod.Limit <= mod.Start {
				return fmt.Errorf("pprof: sample %d frame %d: module %q has limit %#x not above start %#x",
					i, j, moduleName(&mod), mod.Limit, mod.Start)
			}
			if f.Address < mod.Start || f.Address >= mod.Limit {
				return fmt.Errorf("pprof: sample %d frame %d: address %#x outside module %q [%#x, %#x)",
					i, j, f.Address, moduleName(&mod), mod.Start, mod.Limit)
			}
			m = b.mappings[mod]
			if m == nil {
				file := mod.Path
				if file == "" {
					file = mod.Name
				}
				m = &profile.Mapping{Start: mod.Start, Limit: mod.Limit, File: file, BuildID: mod.BuildID}
				b.mappings[mod] = m
			}
		}
		b.location(locKey{mod: m, addr: f.Address}, f)
	}
	return nil
}

func (b *builder) location(k locKey, f Frame) {
	li := b.locations[k]
	if li == nil {
		b.locations[k] = &locInfo{frame: f}
		return
	}
	if li.frame.Function == "" && f.Function != "" {
		li.frame = f
	}
}

// number orders and numbers mappings, locations and functions, and sets
// the mapping flags.
func (b *builder) number() {
	b.modules = make(map[*profile.Mapping]Module, len(b.mappings))
	for mod, m := range b.mappings {
		b.modules[m] = mod
		b.mappingList = append(b.mappingList, m)
	}
	slices.SortFunc(b.mappingList, func(x, y *profile.Mapping) int {
		return cmp.Or(
			cmp.Compare(x.Start, y.Start),
			cmp.Compare(x.Limit, y.Limit),
			cmp.Compare(x.File, y.File),
			cmp.Compare(x.BuildID, y.BuildID),
			compareModules(b.modules[x], b.modules[y]),
		)
	})
	for i, m := range b.mappingList {
		m.ID = uint64(i + 1)
		m.HasFunctions, m.HasFilenames, m.HasLineNumbers = true, true, true
	}

	keys := make([]locKey, 0, len(b.locations))
	for k := range b.locations {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(x, y locKey) int {
		// Outside every module and [no stack] last.
		return cmp.Or(
			cmp.Compare(mappingOrder(x.mod), mappingOrder(y.mod)),
			boolCompare(x.noStack, y.noStack),
			cmp.Compare(x.addr, y.addr),
		)
	})

	funcs := map[funcKey]*profile.Function{}
	function := func(fk funcKey) *profile.Function {
		fn := funcs[fk]
		if fn == nil {
			fn = &profile.Function{Name: fk.name, SystemName: fk.systemName, Filename: fk.file}
			funcs[fk] = fn
			b.functionList = append(b.functionList, fn)
		}
		return fn
	}
	for i, k := range keys {
		li := b.locations[k]
		f := li.frame
		loc := &profile.Location{ID: uint64(i + 1), Mapping: k.mod, Address: k.addr}
		li.loc = loc
		b.locationList = append(b.locationList, loc)

		var fk funcKey
		switch {
		case k.noStack:
			fk = funcKey{name: NoStack}
		case f.Function == "" && k.mod == nil:
			fk = funcKey{name: "0x" + strconv.FormatUint(k.addr, 16)}
		case f.Function == "":
			mod := b.modules[k.mod]
			fk = funcKey{name: moduleName(&mod) + "+0x" + strconv.FormatUint(k.addr-mod.Start, 16)}
		default:
			fk = b.namedFunction(k.mod, f.Function, f.File)
		}
		line := int64(0)
		if f.Function != "" && f.Line > 0 {
			line = int64(f.Line)
		}
		outer := profile.Line{Function: function(fk), Line: line}
		if f.Function == "" || len(f.Inlined) == 0 {
			loc.Line = []profile.Line{outer}
		} else {
			loc.Line = make([]profile.Line, 0, len(f.Inlined)+1)
			for _, in := range f.Inlined {
				fn := function(b.namedFunction(k.mod, in.Function, in.File))
				loc.Line = append(loc.Line, profile.Line{Function: fn, Line: int64(max(in.Line, 0))})
			}
			loc.Line = append(loc.Line, outer)
			if k.mod != nil {
				k.mod.HasInlineFrames = true
			}
		}

		if m := k.mod; m != nil {
			named := f.Function != ""
			m.HasFunctions = m.HasFunctions && named
			m.HasFilenames = m.HasFilenames && named && f.File != ""
			m.HasLineNumbers = m.HasLineNumbers && named && f.Line > 0
		}
	}
	for _, m := range b.mappingList {
		// Never claim file or line information without functions: pprof
		// skips symbolizing a mapping that claims any of the three.
		m.HasFilenames = m.HasFilenames && m.HasFunctions
		m.HasLineNumbers = m.HasLineNumbers && m.HasFunctions
	}

	slices.SortFunc(b.functionList, func(x, y *profile.Function) int {
		return cmp.Or(
			cmp.Compare(x.Name, y.Name),
			cmp.Compare(x.SystemName, y.SystemName),
			cmp.Compare(x.Filename, y.Filename),
		)
	})
	for i, fn := range b.functionList {
		fn.ID = uint64(i + 1)
	}
}

// funcKey identifies a Function.
type funcKey struct{ name, systemName, file string }

// namedFunction is the Function of a symbolized frame in mapping m (nil
// outside every module): "module!function", the bare name as SystemName.
func (b *builder) namedFunction(m *profile.Mapping, function, file string) funcKey {
	if m == nil {
		return funcKey{name: function, systemName: function, file: file}
	}
	mod := b.modules[m]
	name := function
	if prefix := moduleName(&mod) + "!"; !strings.HasPrefix(name, prefix) {
		name = prefix + name
	}
	return funcKey{name: name, systemName: strings.TrimPrefix(function, moduleName(&mod)+"!"), file: file}
}

// sample converts s; scan has seen it already.
func (b *builder) sample(s *Sample) *profile.Sample {
	ps := &profile.Sample{
		Value: []int64{s.AllocObjects, s.AllocBytes, s.InuseObjects, s.InuseBytes},
		Label: map[string][]string{LabelPaged: {strconv.FormatBool(s.Paged)}},
	}
	if len(s.Frames) == 0 {
		ps.Location = []*profile.Location{b.locations[locKey{noStack: true}].loc}
	} else {
		ps.Location = make([]*profile.Location, len(s.Frames))
		for i, f := range s.Frames {
			var m *profile.Mapping
			if f.Module != nil {
				m = b.mappings[*f.Module]
			}
			ps.Location[i] = b.locations[locKey{mod: m, addr: f.Address}].loc
		}
	}
	for _, l := range [...]struct{ key, value string }{
		{LabelTag, s.Tag},
		{LabelPoolType, s.PoolType},
		{LabelLifetime, s.Lifetime},
		{LabelProcess, s.Process},
	} {
		if l.value != "" {
			ps.Label[l.key] = []string{l.value}
		}
	}
	if s.Process != "" || s.PID != 0 {
		ps.NumLabel = map[string][]int64{LabelPID: {s.PID}}
	}
	return ps
}

// comments lists the facts, then one '#' line per mapping (pprof shows
// '#' comments only with -comments).
func comments(f Facts, mappings []*profile.Mapping, modules map[*profile.Mapping]Module) []string {
	var c []string
	add := func(key, value string) {
		if value != "" {
			c = append(c, key+": "+value)
		}
	}
	add("Trace", f.TraceFile)
	add("OS", f.OS)
	add("Window", f.Window)
	add("Lost", fmt.Sprintf("%d events, %d buffers", f.EventsLost, f.BuffersLost))
	for _, n := range f.Notes {
		if n != "" {
			c = append(c, n)
		}
	}
	// pprof prints Time and Duration itself, rounded; keep the exact values
	// out of the report header.
	if !f.Start.IsZero() {
		c = append(c, "# Trace start: "+f.Start.UTC().Format(time.RFC3339Nano))
	}
	if f.Duration != 0 {
		c = append(c, "# Trace duration: "+f.Duration.String())
	}
	for _, m := range mappings {
		mod := modules[m]
		s := fmt.Sprintf("# module %s [%#x, %#x)", moduleName(&mod), mod.Start, mod.Limit)
		if mod.Path != "" {
			s += " path " + mod.Path
		}
		if mod.PDBName != "" {
			s += " pdb " + mod.PDBName
		}
		if mod.BuildID != "" {
			s += " build id " + mod.BuildID
		}
		c = append(c, s)
	}
	return c
}

// moduleName is the name frames use: the original file name, else the
// last element of the path (either slash), else the start address.
func moduleName(m *Module) string {
	if m.Name != "" {
		return m.Name
	}
	if base := m.Path[strings.LastIndexAny(m.Path, `\/`)+1:]; base != "" {
		return base
	}
	return "0x" + strconv.FormatUint(m.Start, 16)
}

func mappingOrder(m *profile.Mapping) uint64 {
	if m == nil {
		return ^uint64(0)
	}
	return m.ID
}

func boolCompare(x, y bool) int {
	switch {
	case x == y:
		return 0
	case !x:
		return -1
	}
	return 1
}

func compareModules(x, y Module) int {
	return cmp.Or(
		cmp.Compare(x.Name, y.Name),
		cmp.Compare(x.Path, y.Path),
		cmp.Compare(x.PDBName, y.PDBName),
	)
}
