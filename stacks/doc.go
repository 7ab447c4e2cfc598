// Package stacks turns the StackWalk events of an ETW trace into the call
// stacks of the events they belong to, names their frames after the
// modules of the trace, and folds them into trees, folded text and JSON.
//
// # Joining
//
// Windows logs a stack as events of its own, after the event it belongs
// to: a Stack event with the frames, or (with stack caching, Windows 8 and
// later) a key reference whose frames come later in a key definition; the
// user-mode part of a kernel event's stack may come later still, when the
// thread leaves the kernel. A [Joiner] puts them together in one pass over
// the events in time order, holding the events the caller wants stacks for
// (pool allocations) for a time window only:
//
//	j := stacks.NewJoiner(stacks.Options{TicksPerSecond: f.Header.TicksPerSecond()},
//		func(a alloc, ref stacks.Ref) { a.stack = ref; allocs = append(allocs, a) })
//	for ev, err := range f.Events() {
//		// handle err
//		if kernel.Lookup(ev) == kernel.KindPoolAlloc {
//			j.Hold(ev, newAlloc(ev))
//		} else {
//			j.Observe(ev)
//		}
//	}
//	j.Finish()
//	frames := j.Resolve(allocs[0].stack) // innermost first
//
// A [Ref] is an interned (kernel part, user part) pair, so all the
// allocations on one stack share one small number. Resolved frame lists
// live in a [Table]. [Stats] says how many stacks joined inline or by key,
// how many events got none, which keys never resolved and which parts
// came too late.
//
// # Naming and folding
//
// [Modules] is the module map of the trace, from the Image events and the
// KernelTraceControl ImageID/DbgID events of merged traces; it names a
// frame module+0xRVA (ntkrnlmp.exe+0x5a3b10), or 0xADDRESS outside every
// module, and keeps each image's PDB identity for symbolization. A
// symbolizer implements [Namer] to name frames module!function instead.
// [Counts] adds up allocations by Ref; [Tree], [WriteFolded], [WriteTree]
// and [WriteJSON] present them.
//
// The package imports only the standard library and the poolprof etl
// packages.
package stacks
