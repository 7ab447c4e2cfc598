package kernel

import (
	"strconv"

	"github.com/poolprof/poolprof/etl"
)

// Provider (event class) GUIDs of the events this package decodes, named
// for this package's callers; the etl package owns the values. For SYSTEM,
// COMPACT and PERFINFO records the etl reader reports the GUID of the
// kernel group; FULL_HEADER records carry the class GUID themselves.
var (
	EventTraceGUID = etl.ProviderEventTrace // group 0x00
	ProcessGUID    = etl.ProviderProcess    // group 0x03
	ThreadGUID     = etl.ProviderThread     // group 0x05
	PoolGUID       = etl.ProviderPool       // group 0x0E
	ImageGUID      = etl.ProviderImage      // group 0x14
	StackWalkGUID  = etl.ProviderStackWalk  // group 0x18
	// ImageIDGUID is the KernelTraceControl ImageID class, whose events
	// are injected as FULL_HEADER records when a trace is merged.
	ImageIDGUID = etl.ProviderKernelTraceControlImageID
)

// Kind says what an event is to the analysis. Kinds that share a decoder
// are adjacent, so a decoder checks its kinds with one range test.
type Kind uint8

const (
	KindUnknown Kind = iota

	// PoolTrace, decoded by PoolEvent.
	KindPoolAlloc    // opcodes 32, 33 (session)
	KindPoolFree     // opcodes 34, 35 (session)
	KindPoolPage     // opcodes 36–39: add pool page, big pool page (and session forms)
	KindPoolSnapshot // opcodes 40–47: rundown of outstanding allocations

	// StackWalk.
	KindStack       // opcode 32, decoded by Stack
	KindStackKeyDef // opcodes 34 create, 35 delete, 36 rundown; decoded by StackKeyDef
	KindStackKeyRef // opcodes 37 kernel, 38 user; decoded by StackKeyRef

	// Image, decoded by Image (hook 0x030A arrives as Image opcode 10).
	KindImageLoad
	KindImageUnload
	KindImageDCStart
	KindImageDCEnd
	KindImageKernelBase // opcode 33, decoded by KernelBase

	// KernelTraceControl ImageID class.
	KindImageID          // opcode 0, decoded by ImageID
	KindImageIDNone      // opcode 32, decoded by DbgID
	KindDbgIDRSDS        // opcode 36, decoded by DbgID
	KindDbgIDILRSDS      // opcode 37, decoded by DbgID
	KindImageFileVersion // opcode 64, decoded by FileVersion

	// Process, decoded by Process.
	KindProcessStart
	KindProcessEnd
	KindProcessDCStart
	KindProcessDCEnd
	KindProcessDefunct

	// Thread, decoded by Thread.
	KindThreadStart
	KindThreadEnd
	KindThreadDCStart
	KindThreadDCEnd

	// EventTrace group.
	KindTraceHeader       // opcode 0, decoded by TraceHeader
	KindTraceExtension    // opcode 5, decoded by TraceExtension
	KindTraceEndExtension // opcode 32, decoded by TraceExtension
	KindPartitionInfo     // opcode 80, decoded by PartitionInfo

	numKinds
)

var kindNames = [numKinds]string{
	KindUnknown:           "Unknown",
	KindPoolAlloc:         "PoolAlloc",
	KindPoolFree:          "PoolFree",
	KindPoolPage:          "PoolPage",
	KindPoolSnapshot:      "PoolSnapshot",
	KindStack:             "Stack",
	KindStackKeyDef:       "StackKeyDef",
	KindStackKeyRef:       "StackKeyRef",
	KindImageLoad:         "ImageLoad",
	KindImageUnload:       "ImageUnload",
	KindImageDCStart:      "ImageDCStart",
	KindImageDCEnd:        "ImageDCEnd",
	KindImageKernelBase:   "ImageKernelBase",
	KindImageID:           "ImageID",
	KindImageIDNone:       "ImageIDNone",
	KindDbgIDRSDS:         "DbgIDRSDS",
	KindDbgIDILRSDS:       "DbgIDILRSDS",
	KindImageFileVersion:  "ImageFileVersion",
	KindProcessStart:      "ProcessStart",
	KindProcessEnd:        "ProcessEnd",
	KindProcessDCStart:    "ProcessDCStart",
	KindProcessDCEnd:      "ProcessDCEnd",
	KindProcessDefunct:    "ProcessDefunct",
	KindThreadStart:       "ThreadStart",
	KindThreadEnd:         "ThreadEnd",
	KindThreadDCStart:     "ThreadDCStart",
	KindThreadDCEnd:       "ThreadDCEnd",
	KindTraceHeader:       "TraceHeader",
	KindTraceExtension:    "TraceExtension",
	KindTraceEndExtension: "TraceEndExtension",
	KindPartitionInfo:     "PartitionInfo",
}

func (k Kind) String() string {
	if k < numKinds {
		return kindNames[k]
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// IsPool reports whether k is a PoolTrace kind.
func (k Kind) IsPool() bool { return k >= KindPoolAlloc && k <= KindPoolSnapshot }

// layout is the byte layout a decoder applies to one range of versions.
type layout uint8

const (
	layoutNone layout = iota // a version no layout is known for
	layoutPool
	layoutStack
	layoutStackKeyDef
	layoutStackKeyRef
	layoutImageV0 // ImageBase, ImageSize, FileName
	layoutImageV1 // + ProcessId
	layoutImageV2 // v2 and v3: + checksum, time stamp, signature, default base
	layoutKernelBase
	layoutImageID
	layoutDbgIDNone
	layoutDbgIDRSDS
	layoutFileVersion
	layoutProcessV3
	layoutProcessV4 // v4 and v5: + Flags, PackageFullName, ApplicationId (v5 Defunct: ExitTime)
	layoutThreadV2
	layoutThreadV3 // v3 and v4: priorities, flags, ThreadName
	layoutTraceHeader
	layoutTraceExtension
	layoutPartitionInfo
)

// since gives the layout used from version min on; in a list, each entry
// holds until the next one, and the last one for every newer version too,
// because newer versions append fields.
type since struct {
	min    uint16
	layout layout
}

var (
	anyPool        = []since{{0, layoutPool}}
	anyStack       = []since{{0, layoutStack}}
	anyKeyDef      = []since{{0, layoutStackKeyDef}}
	anyKeyRef      = []since{{0, layoutStackKeyRef}}
	imageVersions  = []since{{0, layoutImageV0}, {1, layoutImageV1}, {2, layoutImageV2}}
	anyKernelBase  = []since{{0, layoutKernelBase}}
	anyImageID     = []since{{0, layoutImageID}}
	anyDbgIDNone   = []since{{0, layoutDbgIDNone}}
	anyDbgIDRSDS   = []since{{0, layoutDbgIDRSDS}}
	anyFileVersion = []since{{0, layoutFileVersion}}
	// Process v0–v2 lack DirectoryTableBase or differ further; only v3+
	// layouts are confirmed.
	processVersions = []since{{0, layoutNone}, {3, layoutProcessV3}, {4, layoutProcessV4}}
	// Thread v0 swaps ProcessId and TThreadId; v1 is unconfirmed.
	threadVersions = []since{{0, layoutNone}, {2, layoutThreadV2}, {3, layoutThreadV3}}
	anyHeader      = []since{{0, layoutTraceHeader}}
	anyExtension   = []since{{0, layoutTraceExtension}}
	anyPartition   = []since{{0, layoutPartitionInfo}}
)

type row struct {
	provider *etl.GUID
	opcode   uint8
	kind     Kind
	versions []since
}

// table is the one place that says which events this package decodes and
// how (docs/etl-format.md §4).
var table = [...]row{
	{&PoolGUID, 32, KindPoolAlloc, anyPool}, // ALLOCATEPOOL
	{&PoolGUID, 33, KindPoolAlloc, anyPool}, // ALLOCATEPOOL_SESSION
	{&PoolGUID, 34, KindPoolFree, anyPool},  // FREEPOOL
	{&PoolGUID, 35, KindPoolFree, anyPool},  // FREEPOOL_SESSION
	{&PoolGUID, 36, KindPoolPage, anyPool},  // ADDPOOLPAGE
	{&PoolGUID, 37, KindPoolPage, anyPool},  // ADDPOOLPAGE_SESSION
	{&PoolGUID, 38, KindPoolPage, anyPool},  // BIGPOOLPAGE
	{&PoolGUID, 39, KindPoolPage, anyPool},  // BIGPOOLPAGE_SESSION
	{&PoolGUID, 40, KindPoolSnapshot, anyPool},
	{&PoolGUID, 41, KindPoolSnapshot, anyPool},
	{&PoolGUID, 42, KindPoolSnapshot, anyPool},
	{&PoolGUID, 43, KindPoolSnapshot, anyPool},
	{&PoolGUID, 44, KindPoolSnapshot, anyPool},
	{&PoolGUID, 45, KindPoolSnapshot, anyPool},
	{&PoolGUID, 46, KindPoolSnapshot, anyPool},
	{&PoolGUID, 47, KindPoolSnapshot, anyPool},

	{&StackWalkGUID, 32, KindStack, anyStack},
	{&StackWalkGUID, 34, KindStackKeyDef, anyKeyDef}, // KeyCreate
	{&StackWalkGUID, 35, KindStackKeyDef, anyKeyDef}, // KeyDelete
	{&StackWalkGUID, 36, KindStackKeyDef, anyKeyDef}, // KeyRundown
	{&StackWalkGUID, 37, KindStackKeyRef, anyKeyRef}, // StackKeyKernel
	{&StackWalkGUID, 38, KindStackKeyRef, anyKeyRef}, // StackKeyUser

	{&ImageGUID, 10, KindImageLoad, imageVersions},
	{&ImageGUID, 2, KindImageUnload, imageVersions},
	{&ImageGUID, 3, KindImageDCStart, imageVersions},
	{&ImageGUID, 4, KindImageDCEnd, imageVersions},
	{&ImageGUID, 33, KindImageKernelBase, anyKernelBase},
	// Hook 0x030A is an image load although its group is Process; the
	// reader maps it to the Image GUID, but a Process-class opcode 10
	// from another producer has the same payload.
	{&ProcessGUID, 10, KindImageLoad, imageVersions},

	{&ImageIDGUID, 0, KindImageID, anyImageID},
	{&ImageIDGUID, 32, KindImageIDNone, anyDbgIDNone},
	{&ImageIDGUID, 36, KindDbgIDRSDS, anyDbgIDRSDS},
	{&ImageIDGUID, 37, KindDbgIDILRSDS, anyDbgIDRSDS},
	{&ImageIDGUID, 64, KindImageFileVersion, anyFileVersion},

	{&ProcessGUID, 1, KindProcessStart, processVersions},
	{&ProcessGUID, 2, KindProcessEnd, processVersions},
	{&ProcessGUID, 3, KindProcessDCStart, processVersions},
	{&ProcessGUID, 4, KindProcessDCEnd, processVersions},
	{&ProcessGUID, 39, KindProcessDefunct, processVersions},

	{&ThreadGUID, 1, KindThreadStart, threadVersions},
	{&ThreadGUID, 2, KindThreadEnd, threadVersions},
	{&ThreadGUID, 3, KindThreadDCStart, threadVersions},
	{&ThreadGUID, 4, KindThreadDCEnd, threadVersions},

	{&EventTraceGUID, 0, KindTraceHeader, anyHeader},
	{&EventTraceGUID, 5, KindTraceExtension, anyExtension},
	{&EventTraceGUID, 32, KindTraceEndExtension, anyExtension},
	{&EventTraceGUID, 80, KindPartitionInfo, anyPartition},
}

// providers lists the GUIDs the table uses; index holds, per provider and
// opcode, 1 + the row's position in table (0: no row), so that a lookup
// is one short GUID scan and one array load.
var (
	providers = [...]*etl.GUID{&PoolGUID, &StackWalkGUID, &ImageGUID, &ImageIDGUID, &ProcessGUID, &ThreadGUID, &EventTraceGUID}
	index     [len(providers)][256]uint8
)

func init() {
	if len(table) > 255 {
		panic("kernel: table too long for its index")
	}
	for i := range table {
		r := &table[i]
		p := providerIndex(*r.provider)
		if p < 0 || index[p][r.opcode] != 0 {
			panic("kernel: bad table row " + strconv.Itoa(i))
		}
		index[p][r.opcode] = uint8(i + 1)
	}
}

func providerIndex(g etl.GUID) int {
	for i, p := range providers {
		if *p == g {
			return i
		}
	}
	return -1
}

func find(provider etl.GUID, opcode uint8) *row {
	p := providerIndex(provider)
	if p < 0 {
		return nil
	}
	if i := index[p][opcode]; i != 0 {
		return &table[i-1]
	}
	return nil
}

func (r *row) layoutFor(version uint16) layout {
	l := layoutNone
	for _, s := range r.versions {
		if version < s.min {
			break
		}
		l = s.layout
	}
	return l
}

// Lookup returns the kind of ev, from its provider GUID and opcode, or
// KindUnknown. The kind does not depend on the version: an event of a
// known kind whose version has no layout still has its kind, and its
// decoder returns ErrVersion, so the analysis can count it as seen but
// undecodable rather than ignore it.
func Lookup(ev *etl.Event) Kind {
	if r := find(ev.Provider, ev.Opcode); r != nil {
		return r.kind
	}
	return KindUnknown
}

// Identify is Lookup for an identity given by parts (as in an event dump);
// decodable reports whether a layout is known for the version.
func Identify(provider etl.GUID, opcode uint8, version uint16) (k Kind, decodable bool) {
	r := find(provider, opcode)
	if r == nil {
		return KindUnknown, false
	}
	return r.kind, r.layoutFor(version) != layoutNone
}

// resolve finds the layout for ev and checks that the calling decoder,
// which handles kinds first..last, is the right one.
func resolve(ev *etl.Event, first, last Kind) (Kind, layout, error) {
	r := find(ev.Provider, ev.Opcode)
	if r == nil {
		return KindUnknown, layoutNone, newError(ev, KindUnknown, ErrWrongDecoder, "", 0)
	}
	if r.kind < first || r.kind > last {
		return r.kind, layoutNone, newError(ev, r.kind, ErrWrongDecoder, "", 0)
	}
	l := r.layoutFor(ev.Version)
	if l == layoutNone {
		return r.kind, l, newError(ev, r.kind, ErrVersion, "", 0)
	}
	if p := ev.Kind.PointerSize(); p != 4 && p != 8 {
		return r.kind, l, newError(ev, r.kind, ErrPointerSize, "", 0)
	}
	return r.kind, l, nil
}

// Decoded holds one value of every decoded type, so that a caller can
// decode any event this package knows without allocating and without its
// own switch (tools that list events, fuzzing). Only the member named by
// Kind is valid after Decode.
type Decoded struct {
	Kind Kind

	Pool        PoolEvent
	Stack       Stack
	KeyDef      StackKeyDef
	KeyRef      StackKeyRef
	Image       Image
	KernelBase  KernelBase
	ImageID     ImageID
	DbgID       DbgID
	FileVersion FileVersion
	Process     Process
	Thread      Thread
	Header      TraceHeader
	Extension   TraceExtension
	Partition   PartitionInfo
}

// Decode sets d.Kind to Lookup(ev) and decodes ev into the matching
// member. An event of no known kind is not an error: Decode returns nil
// with d.Kind == KindUnknown.
func (d *Decoded) Decode(ev *etl.Event) error {
	d.Kind = Lookup(ev)
	switch d.Kind {
	case KindUnknown:
		return nil
	case KindPoolAlloc, KindPoolFree, KindPoolPage, KindPoolSnapshot:
		return d.Pool.Decode(ev)
	case KindStack:
		return d.Stack.Decode(ev)
	case KindStackKeyDef:
		return d.KeyDef.Decode(ev)
	case KindStackKeyRef:
		return d.KeyRef.Decode(ev)
	case KindImageLoad, KindImageUnload, KindImageDCStart, KindImageDCEnd:
		return d.Image.Decode(ev)
	case KindImageKernelBase:
		return d.KernelBase.Decode(ev)
	case KindImageID:
		return d.ImageID.Decode(ev)
	case KindImageIDNone, KindDbgIDRSDS, KindDbgIDILRSDS:
		return d.DbgID.Decode(ev)
	case KindImageFileVersion:
		return d.FileVersion.Decode(ev)
	case KindProcessStart, KindProcessEnd, KindProcessDCStart, KindProcessDCEnd, KindProcessDefunct:
		return d.Process.Decode(ev)
	case KindThreadStart, KindThreadEnd, KindThreadDCStart, KindThreadDCEnd:
		return d.Thread.Decode(ev)
	case KindTraceHeader:
		return d.Header.Decode(ev)
	case KindTraceExtension, KindTraceEndExtension:
		return d.Extension.Decode(ev)
	case KindPartitionInfo:
		return d.Partition.Decode(ev)
	}
	return nil
}
