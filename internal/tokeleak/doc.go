// Package tokeleak builds poolprof's bundled example trace: a small,
// WPR "Pool usage"-like kernel trace that tells the story of
// docs/design.md. lsass.exe keeps duplicating tokens through a security
// product's driver (contosec.sys, fictional) that never lets them go, so
// paged pool fills with outstanding 1664-byte allocations tagged Toke whose
// stacks lead through ntkrnlmp.exe!SepDuplicateToken, amid ordinary pool
// traffic in every pool.
//
// [Build] writes the trace with etl/etltest and returns a [Truth]: the
// numbers the generator intended, taken from its own bookkeeping while it
// planned every allocation, free and stack, never by reading the file back.
// Tests of the analysis compare what they compute from the file with it.
//
// The trace is deterministic: the same [Options] give the same bytes on
// every machine and Go version (the generator uses its own PRNG), so the
// committed testdata/example/tokeleak.etl can be checked against Build.
// Regenerate it with go generate in this directory.
//
// What the file holds, in short (details in the files of this package):
//
//   - story.go: the Toke leak (1664-byte paged allocations from lsass.exe,
//     never freed), legitimate Toke allocations of other sizes (some
//     outstanding, some freed, some freed blocks from before the trace).
//   - background.go: churn in paged, nonpaged, NX and session pool, big
//     allocations, protected tags, frees of blocks allocated before the
//     trace, lost frees, one session address live in two sessions.
//   - stacks.go: inline stacks (Stack), cached stacks (StackKeyKernel and
//     StackKeyUser, defined by KeyDelete mid-trace or KeyRundown at the
//     end), user parts logged later, allocations without a stack.
//   - images.go, processes.go: the rundown (processes, threads, kernel and
//     user images with KernelTraceControl ImageID and DbgID_RSDS events)
//     and the functions whose return addresses the stacks hold.
//   - truth.go: the expected rows, stacks and event counts.
package tokeleak

//go:generate go run ./gen -o ../../testdata/example/tokeleak.etl
