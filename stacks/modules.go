package stacks

import (
	"container/heap"
	"math"
	"slices"

	"github.com/poolprof/poolprof/etl"
	"github.com/poolprof/poolprof/etl/kernel"
)

// Module is one image mapped into a process, or into system space for a
// kernel image (a driver, the kernel itself), which belongs to every
// process.
type Module struct {
	// Name is the name frames are named with: the original file name of
	// the KernelTraceControl ImageID event when the trace has one (e.g.
	// "ntkrnlmp.exe" for ntoskrnl.exe), else the file name of Path.
	Name string
	// Path is the file name of the Image event, an NT path such as
	// \Device\HarddiskVolume2\Windows\System32\ntdll.dll or
	// \SystemRoot\system32\ntoskrnl.exe.
	Path string

	Base, Size uint64
	// Kernel reports a system-space image (Base is a kernel address).
	Kernel bool
	// PID is the process a user image is mapped into; for kernel images
	// the ProcessId of their Image event (0).
	PID uint32

	// TimeDateStamp and Checksum are the PE header's, from the Image
	// event or, where that has 0 (Windows 8), from the ImageID event.
	TimeDateStamp uint32
	Checksum      uint32

	// PDB is the debug identity from the DbgID_RSDS event (zero without
	// one): what a symbol server files the image's PDB under.
	PDB PDB

	// Unloaded reports that the last Image event for the module was an
	// Unload.
	Unloaded bool

	seq int // order of first appearance; later images win overlaps
}

// PDB is the identity of a program database: a PDB belongs to an image
// when its name, GUID and age equal the image's CodeView (RSDS) record.
type PDB struct {
	Name string // e.g. "wntdll.pdb", as the image names it
	GUID etl.GUID
	Age  uint32
}

// IsZero reports whether p holds no identity.
func (p PDB) IsZero() bool { return p == PDB{} }

// ModuleStats counts what Modules saw.
type ModuleStats struct {
	ImageEvents   int64 // Image Load, Unload, DCStart and DCEnd events
	ImageIDs      int64 // ImageID events (original file names)
	DbgIDs        int64 // DbgID_RSDS events (PDB identities)
	Unmatched     int64 // ImageID and DbgID events no Image event of the same timestamp, process and base took
	BadEvents     int64 // events of these kinds that did not decode
	Modules       int   // distinct modules
	ProcessEvents int64 // Process events (names)
}

// Modules is the module map of a trace: which image holds an address in
// a process. It is built from the Image events (Load, DCStart, DCEnd,
// Unload), named by the KernelTraceControl ImageID events and given PDB
// identities by the DbgID_RSDS events that merged traces carry
// (docs/etl-format.md §4.3, §4.4). Pass it every event with Observe, then
// call Finish; Lookup answers for the end of the trace: every image seen
// stays in the map, unloaded or not, and where a range was reused the
// image loaded last wins. That is right for the stacks of a trace unless
// a process unloads an image and loads another at its address before the
// end, which the map does not tell apart.
//
// Modules also records the image name of each process (ProcessName).
type Modules struct {
	mods []*Module
	// cur holds the module last seen at (process, base); kernel images
	// under process 0.
	cur map[modKey]*Module

	// ImageID and DbgID events carry the timestamp of the Image event
	// they describe and come just before or just after it. batch holds
	// the Image events and the early ImageID/DbgID events of the current
	// timestamp only.
	batchTS int64
	batch   map[modKey]*Module
	early   map[modKey]*earlyID

	procs map[uint32]string

	kernelSpans []span
	userSpans   map[uint32][]span
	finished    bool
	stats       ModuleStats

	im  kernel.Image
	id  kernel.ImageID
	dbg kernel.DbgID
	pr  kernel.Process
}

type modKey struct {
	pid  uint32
	base uint64
}

// earlyID is what an ImageID or DbgID event said before its Image event
// came.
type earlyID struct {
	name          string
	timeDateStamp uint32
	pdb           PDB
}

type span struct {
	start, end uint64 // [start, end)
	mod        *Module
}

// NewModules returns an empty module map.
func NewModules() *Modules {
	return &Modules{
		cur:       make(map[modKey]*Module),
		batch:     make(map[modKey]*Module),
		early:     make(map[modKey]*earlyID),
		procs:     make(map[uint32]string),
		userSpans: make(map[uint32][]span),
	}
}

// Stats returns what the map counted.
func (m *Modules) Stats() ModuleStats {
	s := m.stats
	s.Modules = len(m.mods)
	return s
}

// Observe takes Image, ImageID, DbgID_RSDS and Process events and reports
// whether ev was one of them. Other events are ignored. Events must come
// in time order.
func (m *Modules) Observe(ev *etl.Event) bool {
	if m.finished {
		return false
	}
	switch kernel.Lookup(ev) {
	case kernel.KindImageLoad, kernel.KindImageUnload, kernel.KindImageDCStart, kernel.KindImageDCEnd:
		m.onImage(ev)
	case kernel.KindImageID:
		m.onImageID(ev)
	case kernel.KindDbgIDRSDS:
		m.onDbgID(ev)
	case kernel.KindProcessStart, kernel.KindProcessEnd, kernel.KindProcessDCStart, kernel.KindProcessDCEnd, kernel.KindProcessDefunct:
		m.onProcess(ev)
	default:
		return false
	}
	return true
}

// toBatch starts a new batch when ts moves on; what the old batch held
// early without its Image event is unmatched.
func (m *Modules) toBatch(ts int64) {
	if ts == m.batchTS && (len(m.batch) > 0 || len(m.early) > 0) {
		return
	}
	m.stats.Unmatched += int64(len(m.early))
	clear(m.batch)
	clear(m.early)
	m.batchTS = ts
}

func (m *Modules) onImage(ev *etl.Event) {
	im := &m.im
	if err := im.Decode(ev); err != nil || im.ImageBase+im.ImageSize < im.ImageBase {
		// An image that runs past the top of the address space is
		// damage: it would own no address, or every address.
		m.stats.BadEvents++
		return
	}
	m.stats.ImageEvents++
	m.toBatch(ev.Timestamp)
	pid := im.ProcessID
	if !im.HasProcessID && ev.HasThread() && ev.ProcessID != noThread {
		pid = ev.ProcessID
	}
	kern := kernel.IsKernelAddress(im.ImageBase, ev.Kind.PointerSize())
	key := modKey{pid, im.ImageBase}
	if kern {
		key.pid = 0
	}
	mod := m.cur[key]
	if mod == nil || mod.Size != im.ImageSize || !im.FileName.EqualFold(mod.Path) {
		mod = &Module{
			Path:   im.FileName.String(),
			Name:   im.FileName.Base().String(),
			Base:   im.ImageBase,
			Size:   im.ImageSize,
			Kernel: kern,
			PID:    pid,
			seq:    len(m.mods),
		}
		m.mods = append(m.mods, mod)
		m.cur[key] = mod
	}
	if im.TimeDateStamp != 0 {
		mod.TimeDateStamp = im.TimeDateStamp
	}
	if im.Checksum != 0 {
		mod.Checksum = im.Checksum
	}
	mod.Unloaded = im.Op == 2
	bkey := modKey{pid, im.ImageBase}
	m.batch[bkey] = mod
	if e := m.early[bkey]; e != nil {
		apply(mod, e)
		delete(m.early, bkey)
	}
}

func apply(mod *Module, e *earlyID) {
	if e.name != "" {
		mod.Name = e.name
	}
	if mod.TimeDateStamp == 0 {
		mod.TimeDateStamp = e.timeDateStamp
	}
	if !e.pdb.IsZero() {
		mod.PDB = e.pdb
	}
}

// earlyFor returns the record an ImageID or DbgID event that came before
// its Image event fills in.
func (m *Modules) earlyFor(key modKey) *earlyID {
	e := m.early[key]
	if e == nil {
		e = &earlyID{}
		m.early[key] = e
	}
	return e
}

func (m *Modules) onImageID(ev *etl.Event) {
	id := &m.id
	if err := id.Decode(ev); err != nil {
		m.stats.BadEvents++
		return
	}
	m.stats.ImageIDs++
	m.toBatch(ev.Timestamp)
	key := modKey{id.ProcessID, id.ImageBase}
	if mod := m.batch[key]; mod != nil {
		if !id.OriginalFileName.IsEmpty() && !id.OriginalFileName.Equal(mod.Name) {
			mod.Name = id.OriginalFileName.String()
		}
		if mod.TimeDateStamp == 0 {
			mod.TimeDateStamp = id.TimeDateStamp
		}
		return
	}
	e := m.earlyFor(key)
	e.name = id.OriginalFileName.String()
	e.timeDateStamp = id.TimeDateStamp
}

func (m *Modules) onDbgID(ev *etl.Event) {
	d := &m.dbg
	if err := d.Decode(ev); err != nil {
		m.stats.BadEvents++
		return
	}
	m.stats.DbgIDs++
	m.toBatch(ev.Timestamp)
	key := modKey{d.ProcessID, d.ImageBase}
	mod := m.batch[key]
	if mod != nil && mod.PDB.Name != "" && d.PDBFileName.Equal(mod.PDB.Name) && mod.PDB.GUID == d.GUID && mod.PDB.Age == d.Age {
		return
	}
	p := PDB{Name: d.PDBFileName.String(), GUID: d.GUID, Age: d.Age}
	if mod != nil {
		mod.PDB = p
		return
	}
	m.earlyFor(key).pdb = p
}

func (m *Modules) onProcess(ev *etl.Event) {
	p := &m.pr
	if err := p.Decode(ev); err != nil {
		m.stats.BadEvents++
		return
	}
	m.stats.ProcessEvents++
	if p.ImageFileName.IsEmpty() {
		return
	}
	if old, ok := m.procs[p.ProcessID]; !ok || !p.ImageFileName.Equal(old) {
		m.procs[p.ProcessID] = p.ImageFileName.String()
	}
}

// ProcessName returns the image file name of process pid (e.g.
// "lsass.exe") from the last Process event for it, or "".
func (m *Modules) ProcessName(pid uint32) string { return m.procs[pid] }

// Finish builds the lookup tables. Observe does nothing afterwards.
func (m *Modules) Finish() {
	if m.finished {
		return
	}
	m.toBatch(m.batchTS + 1)
	m.finished = true
	var kern []*Module
	user := make(map[uint32][]*Module)
	for _, mod := range m.mods {
		if mod.Kernel {
			kern = append(kern, mod)
		} else {
			user[mod.PID] = append(user[mod.PID], mod)
		}
	}
	m.kernelSpans = paint(kern)
	for pid, mods := range user {
		m.userSpans[pid] = paint(mods)
	}
	m.cur, m.batch, m.early = nil, nil, nil
}

// Modules returns every module seen, in order of first appearance. The
// slice belongs to the map.
func (m *Modules) Modules() []*Module { return m.mods }

// Lookup returns the module holding addr in process pid: a user image of
// that process, else a kernel image; nil when none does, or before
// Finish. It allocates nothing.
func (m *Modules) Lookup(pid uint32, addr uint64) *Module {
	if mod := lookup(m.userSpans[pid], addr); mod != nil {
		return mod
	}
	return lookup(m.kernelSpans, addr)
}

func lookup(spans []span, addr uint64) *Module {
	lo, hi := 0, len(spans)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if spans[mid].end <= addr {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	if lo < len(spans) && spans[lo].start <= addr {
		return spans[lo].mod
	}
	return nil
}

// paint lays the modules on the address line, the module seen last
// winning where ranges overlap, and returns the sorted, disjoint spans.
func paint(mods []*Module) []span {
	type edge struct {
		at  uint64
		mod *Module
	}
	var bounds []uint64
	var starts []edge
	for _, mod := range mods {
		if mod.Size == 0 {
			continue
		}
		end := mod.Base + mod.Size
		if end < mod.Base {
			end = math.MaxUint64
		}
		bounds = append(bounds, mod.Base, end)
		starts = append(starts, edge{mod.Base, mod})
	}
	slices.Sort(bounds)
	bounds = slices.Compact(bounds)
	slices.SortFunc(starts, func(a, b edge) int {
		if a.at != b.at {
			if a.at < b.at {
				return -1
			}
			return 1
		}
		return a.mod.seq - b.mod.seq
	})
	var spans []span
	var active modHeap
	next := 0
	for i := 0; i+1 < len(bounds); i++ {
		lo, hi := bounds[i], bounds[i+1]
		for next < len(starts) && starts[next].at <= lo {
			heap.Push(&active, starts[next].mod)
			next++
		}
		for len(active) > 0 && modEnd(active[0]) <= lo {
			heap.Pop(&active)
		}
		if len(active) == 0 {
			continue
		}
		top := active[0]
		if n := len(spans); n > 0 && spans[n-1].mod == top && spans[n-1].end == lo {
			spans[n-1].end = hi
		} else {
			spans = append(spans, span{lo, hi, top})
		}
	}
	return spans
}

func modEnd(mod *Module) uint64 {
	end := mod.Base + mod.Size
	if end < mod.Base {
		return math.MaxUint64
	}
	return end
}

// modHeap is a max-heap of modules by seq: the module seen last on top.
type modHeap []*Module

func (h modHeap) Len() int           { return len(h) }
func (h modHeap) Less(i, j int) bool { return h[i].seq > h[j].seq }
func (h modHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *modHeap) Push(x any)        { *h = append(*h, x.(*Module)) }
func (h *modHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
