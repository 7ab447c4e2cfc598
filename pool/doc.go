// Package pool matches kernel pool allocations with their frees and reports
// what WPA and poolmon report: the lifetime sets AIFI, AIFO, AOFI and AOFO,
// poolmon-style rows per (tag, paged), the outstanding allocations
// themselves for stack folding, outstanding bytes per tag over time, and
// counters that say how far the trace can be trusted.
//
// The package knows nothing about ETL files: the caller decodes PoolTrace
// events into [Event] values and feeds them to a [Tracker] in timestamp
// order. What a pool type and a pool tag mean (classification, names, tag
// text and its escapes) belongs to package kernel, which decodes the
// events: [PoolType] is [kernel.PoolType], and [TagString] and [ParseTag]
// are [kernel.Tag.String] and [kernel.ParseTag] on Event.Tag's uint32.
// Tag patterns ([TagPattern]) and pool sets ([PoolSet]) are this package's
// own.
//
// # Rules
//
// An allocation is keyed by its address, or by (session id, address) for
// session pool. Events are applied in the order given. Against a window
// [Start, End):
//
//   - AIFI: allocated and freed inside the window.
//   - AIFO: allocated inside the window, still outstanding at its end.
//   - AOFI: freed inside the window, its allocation not seen inside it:
//     made before the window (the tracker saw it, so its size and stack
//     are known) or before the trace (nothing is known but the free).
//   - AOFO: allocated before the window, still outstanding at its end.
//     Only a window narrower than the trace (or a pool snapshot rundown)
//     can produce these.
//   - Lost free: an allocation at an address that is still outstanding
//     means the free of the older block was lost. The older allocation is
//     closed as a lost free on its own row (neither AIFI nor AIFO) and the
//     new one opens.
//
// Hence on every row allocs = aifo_count + aifi_count + lost_frees and
// frees = aifi_count + aofi_count. Bytes are always the allocation's
// NumberOfBytes; the size logged with a free is not trusted. See [Tracker]
// for how events outside the window are handled.
package pool
