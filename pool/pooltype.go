package pool

import (
	"fmt"
	"strconv"
	"strings"
)

// PoolType is the PoolType field of a pool event as logged: a kernel
// POOL_TYPE value, possibly with allocation modifier bits ORed in, and with
// BigPoolMarker set by the tracer for big-pool blocks. Event.PoolType holds
// the raw value; convert it to classify: PoolType(e.PoolType).Paged().
type PoolType uint32

// POOL_TYPE values and bits (etl-format.md §4.1).
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

	// SessionPoolBit marks session pool (types 32–38 are the seven base
	// types + 0x20); NXPoolBit marks no-execute pool, which is nonpaged.
	SessionPoolBit PoolType = 0x20
	NXPoolBit      PoolType = 0x200

	NonPagedPoolNx             PoolType = 0x200
	NonPagedPoolNxCacheAligned PoolType = 0x204
	NonPagedPoolSessionNx      PoolType = 0x220

	// BigPoolMarker is ETW_POOLTRACE_BIGPOOL_MASK, which the tracer ORs
	// into the logged type of big-pool (page-granular) allocations. It and
	// the rest of the top nibble are not part of the kernel's POOL_TYPE.
	BigPoolMarker PoolType = 0x10000000
	tracerBits    PoolType = 0xF0000000
)

// Base returns the kernel POOL_TYPE: the type without the tracer's top
// nibble (the big-pool marker). Modifier bits stay.
func (t PoolType) Base() PoolType { return t &^ tracerBits }

// Big reports the big-pool marker.
func (t PoolType) Big() bool { return t&BigPoolMarker != 0 }

// Session reports session pool (bit 0x20 of the base type).
func (t PoolType) Session() bool { return t.Base()&SessionPoolBit != 0 }

// NX reports no-execute pool (bit 0x200), which is always nonpaged.
func (t PoolType) NX() bool { return t.Base()&NXPoolBit != 0 }

// Paged reports paged pool: bit 0 of the base type (PagedPool,
// PagedPoolCacheAligned and their session forms) and not NX. Everything
// else, NX and session NX included, is nonpaged.
func (t PoolType) Paged() bool { b := t.Base(); return b&1 != 0 && b&NXPoolBit == 0 }

// PagedString is poolmon's Type column: "Paged" or "Nonp".
func PagedString(paged bool) string {
	if paged {
		return "Paged"
	}
	return "Nonp"
}

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

// String names the type as the POOL_TYPE enum does, with modifiers and the
// big-pool marker after '|' ("PagedPool|RaiseIfAllocationFailure|Big"); an
// unknown value prints in hex.
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

// PoolSet selects pools for a filter. The paged dimension (PoolPaged,
// PoolNonPaged) and the session dimension (PoolSession) combine like
// poolmon's /p and /s switches: within the paged dimension the bits are
// alternatives, and PoolSession further requires session pool. So
// PoolPaged selects all paged pool, session paged included; PoolSession
// selects session pool, paged or not; PoolPaged|PoolSession selects
// session paged pool only. The zero set selects every pool.
type PoolSet uint8

const (
	PoolNonPaged PoolSet = 1 << iota
	PoolPaged
	PoolSession
)

// Match reports whether a block of pool type t is in the set.
func (s PoolSet) Match(t PoolType) bool {
	if s&(PoolPaged|PoolNonPaged) != 0 {
		want := PoolNonPaged
		if t.Paged() {
			want = PoolPaged
		}
		if s&want == 0 {
			return false
		}
	}
	return s&PoolSession == 0 || t.Session()
}

// String lists the set as ParsePoolSet reads it ("paged,session"); the
// zero set is "all".
func (s PoolSet) String() string {
	if s == 0 {
		return "all"
	}
	var parts []string
	if s&PoolPaged != 0 {
		parts = append(parts, "paged")
	}
	if s&PoolNonPaged != 0 {
		parts = append(parts, "nonpaged")
	}
	if s&PoolSession != 0 {
		parts = append(parts, "session")
	}
	return strings.Join(parts, ",")
}

// ParsePoolSet reads a comma-separated list of "paged", "nonpaged" (or
// poolmon's "nonp") and "session", case-insensitive; "" and "all" give the
// zero set.
func ParsePoolSet(list string) (PoolSet, error) {
	var s PoolSet
	if list == "" || strings.EqualFold(list, "all") {
		return 0, nil
	}
	for w := range strings.SplitSeq(list, ",") {
		switch strings.ToLower(strings.TrimSpace(w)) {
		case "paged":
			s |= PoolPaged
		case "nonpaged", "nonp":
			s |= PoolNonPaged
		case "session":
			s |= PoolSession
		default:
			return 0, fmt.Errorf("pool: unknown pool %q (want paged, nonpaged or session)", w)
		}
	}
	return s, nil
}
