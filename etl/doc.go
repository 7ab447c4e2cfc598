// Package etl reads Windows ETW trace files (.etl) on any operating system.
//
// An ETL file is a run of buffers, each holding the records one processor
// logged. NewFile (or Open) reads the buffer headers and the logfile header
// (LogfileHeader: OS build, pointer size, clock, start time, lost events);
// a Reader then walks the records lazily, one buffer at a time:
//
//   - OrderTime merges the per-processor buffers into one stream of
//     non-decreasing timestamps, holding in memory only the buffers whose
//     time ranges overlap (about one per processor);
//   - OrderFile returns records buffer by buffer, as stored.
//
// Every record header kind is decoded into an Event: SYSTEM and COMPACT,
// PERFINFO (with PMC/PEBS items), FULL_HEADER and INSTANCE, EVENT_HEADER
// with its extended data items, and WPP MESSAGE records, 32- and 64-bit;
// records of unknown kinds are skipped by their size and counted.
// XPRESS-compressed buffers are decompressed. Kernel records name their
// event by hook id; an Event reports the group's GUID as its provider.
//
// Next allocates nothing per event: an Event aliases the reader's buffer
// until the next call (Clone keeps one). Bad input never panics and never
// makes the reader trust a size the file cannot hold: a damaged buffer is
// skipped from the damage on, reported as a *FormatError with the file
// offset, buffer and record (Reader.Problems), and every intact buffer is
// still read.
package etl
