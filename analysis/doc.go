// Package analysis runs the pool-leak analysis of one trace in a single
// time-ordered pass: it decodes the kernel events (etl/kernel), joins each
// pool event to its stack (stacks.Joiner), builds the module map
// (stacks.Modules), matches allocations with frees (pool.Tracker), and
// says how far the numbers can be trusted (Health).
//
// Memory grows with the allocations outstanding, the distinct stacks and
// the events inside the stack-join window, not with the size of the file.
package analysis
