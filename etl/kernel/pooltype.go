package kernel

import "strconv"

// PoolType is the PoolType field of a pool event: a kernel POOL_TYPE value,
// possibly with allocation modifier bits ORed in, and with BigPoolMarker
// set by the tracer for big-pool blocks. Base strips what the tracer adds;
// Paged, Session, NX and Big classify.
type PoolType uint32

// Values and bits of POOL_TYPE (Win10 _POOL_DESCRIPTOR headers;
// docs/etl-format.md §4.1).
const (
	NonPagedPool                  PoolType = 0 // also NonPagedPoolExecute
	PagedPool                     PoolType = 1
	NonPagedPoolMustSucceed       PoolType = 2
	DontUseThisType               PoolType = 3
	NonPagedPoolCacheAligned      PoolType = 4
	PagedPoolCacheAligned         PoolType = 5
	NonPagedPoolCacheAlignedMustS PoolType = 6

	// Modifier bits callers may OR into the type. None of them touches
	// bit 0 (paged), 0x20 (session) or 0x200 (NX).
	PoolQuotaFailInsteadOfRaise  PoolType = 0x8
	PoolRaiseIfAllocationFailure PoolType = 0x10
	PoolColdAllocation           PoolType = 0x100

	// SessionPoolMask marks session pool (types 32–38: the seven above +
	// 0x20); NXPoolMask marks no-execute pool (NonPagedPoolNx = 0x200).
	SessionPoolMask PoolType = 0x20
	NXPoolMask      PoolType = 0x200

	NonPagedPoolNx             PoolType = 0x200
	NonPagedPoolNxCacheAligned PoolType = 0x204
	NonPagedPoolSessionNx      PoolType = 0x220

	// BigPoolMarker is ETW_POOLTRACE_BIGPOOL_MASK: ntwmi.h reserves it in
	// the logged PoolType for big-pool (page-granular) allocations, chosen
	// so as not to clash with real pool-type bits. That the kernel sets it
	// on modern Windows is unverified. It and the rest of the top nibble
	// (tracerBits) are not part of the kernel's POOL_TYPE.
	BigPoolMarker PoolType = 0x10000000
	tracerBits    PoolType = 0xF0000000
)

// Base returns the kernel POOL_TYPE: the type without the tracer's top
// nibble (the big-pool marker and the bits beside it), the value to
// classify. Modifier bits stay.
func (t PoolType) Base() PoolType { return t &^ tracerBits }

// Big reports the big-pool marker.
func (t PoolType) Big() bool { return t&BigPoolMarker != 0 }

// Session reports session pool (bit 0x20 of the base type).
func (t PoolType) Session() bool { return t.Base()&SessionPoolMask != 0 }

// NX reports no-execute pool (bit 0x200), which is always nonpaged.
func (t PoolType) NX() bool { return t.Base()&NXPoolMask != 0 }

// Paged reports paged pool: bit 0 of the base type (PagedPool,
// PagedPoolCacheAligned and their session forms) and not NX. Everything
// else, NX and session NX included, is nonpaged.
func (t PoolType) Paged() bool { b := t.Base(); return b&1 != 0 && b&NXPoolMask == 0 }

var poolTypeNames = map[PoolType]string{
	NonPagedPool:                  "NonPagedPool",
	PagedPool:                     "PagedPool",
	NonPagedPoolMustSucceed:       "NonPagedPoolMustSucceed",
	DontUseThisType:               "DontUseThisType",
	NonPagedPoolCacheAligned:      "NonPagedPoolCacheAligned",
	PagedPoolCacheAligned:         "PagedPoolCacheAligned",
	NonPagedPoolCacheAlignedMustS: "NonPagedPoolCacheAlignedMustS",
	32:                            "NonPagedPoolSession",
	33:                            "PagedPoolSession",
	34:                            "NonPagedPoolMustSucceedSession",
	35:                            "DontUseThisTypeSession",
	36:                            "NonPagedPoolCacheAlignedSession",
	37:                            "PagedPoolCacheAlignedSession",
	38:                            "NonPagedPoolCacheAlignedMustSSession",
	NonPagedPoolNx:                "NonPagedPoolNx",
	NonPagedPoolNxCacheAligned:    "NonPagedPoolNxCacheAligned",
	NonPagedPoolSessionNx:         "NonPagedPoolSessionNx",
}

const poolModifiers = PoolQuotaFailInsteadOfRaise | PoolRaiseIfAllocationFailure | PoolColdAllocation

// String names the type as the kernel's POOL_TYPE enum does, with the
// modifiers, the big-pool marker and any other tracer bits after '|', e.g.
// "PagedPool|RaiseIfAllocationFailure|Big" or "PagedPool|Big|0x20000000";
// a value whose base type has no name prints whole in hex
// ("PoolType(0x211)").
func (t PoolType) String() string {
	base := t.Base()
	name, ok := poolTypeNames[base&^poolModifiers]
	if !ok {
		return "PoolType(0x" + strconv.FormatUint(uint64(t), 16) + ")"
	}
	if base&PoolQuotaFailInsteadOfRaise != 0 {
		name += "|QuotaFailInsteadOfRaise"
	}
	if base&PoolRaiseIfAllocationFailure != 0 {
		name += "|RaiseIfAllocationFailure"
	}
	if base&PoolColdAllocation != 0 {
		name += "|ColdAllocation"
	}
	if t.Big() {
		name += "|Big"
	}
	if rest := t & tracerBits &^ BigPoolMarker; rest != 0 {
		name += "|0x" + strconv.FormatUint(uint64(rest), 16)
	}
	return name
}
