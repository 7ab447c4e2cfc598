// Package etltest writes valid Windows ETW .etl files, laid out the way the
// Windows logger lays them out, for tests, fuzz seeds, benchmarks and demos.
//
// No public trace holds kernel pool events, so most of poolprof is tested
// with files made here. They must therefore be faithful where real files
// are: per-CPU buffer chains interleaved in flush order, 8-byte aligned
// records, Offset (0x30) counting the last record's padding, 0xFF filler
// after it, records that fill a buffer exactly, the logfile header event
// anchoring StartTime, BuffersWritten equal to the number of buffers,
// XPRESS-compressed buffers whose BufferSize is the on-disk size while
// Offset stays the uncompressed end. The layout facts come from
// docs/etl-format.md §1–§3 and were checked against the real files of the
// shared test corpus.
//
// # Building a file
//
//	b, _ := etltest.New(etltest.Options{CPUs: 2, BufferSize: 8 << 10})
//	ref, _ := b.Add(1, etltest.Record{
//		Kind: etl.KindSystem64, HookID: 0x0E20, Version: 2,
//		ThreadID: 8, ProcessID: 4, Timestamp: b.Timestamp(time.Millisecond),
//		Payload: payload,
//	})
//	data, _ := b.Bytes()
//	p, _ := b.Placement(ref) // buffer index in file order, offset after 0x48
//
// NewWriter streams to an io.Writer instead; with a seekable writer (a file)
// memory stays at about (CPUs + 3) × BufferSize however large the file, which
// is what benchmarks over 256 MiB – 1 GiB traces need.
//
// # What the file looks like
//
// Buffer 0 is the header buffer: BufferType 4 (HEADER), flags
// FLUSH_MARKER|PROC_INDEX, processor 0, SequenceNumber 0, TimeStamp 0. Its
// first record is the EventTrace header event (SYSTEM32 or SYSTEM64 by
// pointer size, hook 0x0000, version 2, timestamp T0 =
// Options.HeaderRecord.Timestamp), followed by whatever was added with
// cpu = HeaderBuffer. It is written when the first data buffer is flushed
// (or at Close), and its BuffersWritten and EndTime are rewritten at Close.
// In compressed files it stays raw and, as relogged files have it, occupies
// its data rounded up to 512 bytes instead of a whole buffer.
//
// Data buffers: BufferType 0 (GENERIC), flag PROC_INDEX (plus COMPRESSED when
// compressed, plus what SetBufferFlags asked for), ProcessorIndex = CPU,
// State 3, SavedOffset = Offset. SequenceNumber counts buffers as they are
// opened (1, 2, … over all CPUs), so it increases per CPU but not in file
// order. TimeStamp is the latest record timestamp added anywhere when the
// buffer was flushed. CurrentOffset follows what Windows leaves there:
// Offset plus the aligned size of the record that did not fit, or
// BufferSize + Offset for buffers flushed by Flush or Close. Bytes 0x20–0x27
// and 0x38–0x47, stale kernel pointers in real files, are zero.
//
// A buffer is flushed when the next record for its CPU does not fit (not
// when it becomes exactly full), by Flush, or at Close. Close flushes the
// remaining buffers in CPU order and sets FLUSH_MARKER on the last buffer
// of the file. Record padding is zero. The builder does not sort or check
// timestamps: a test that wants events out of order within a buffer can
// write them.
//
// # Damaged files
//
// Tests damage a valid file themselves, using the placement information:
// Builder.Buffers gives every buffer's file offset, size and fill,
// Builder.FileOffset the file offset of a record in an uncompressed buffer,
// the Hdr* constants the buffer header fields and SizeFieldOffset the size
// field of a record. For example:
//
//	off, _ := b.FileOffset(ref)
//	binary.LittleEndian.PutUint16(data[off+int64(etltest.SizeFieldOffset(k)):], 0xFFF0) // size past Offset
//	binary.LittleEndian.PutUint32(data[off:], 0x12345678)                              // unknown marker
//	info := b.Buffers()[2]
//	binary.LittleEndian.PutUint32(data[info.FileOffset+etltest.HdrOffset:], 0x30)     // Offset inside the header
//	data = data[:info.FileOffset+100]                                                  // truncated buffer
//
// Damage that must survive compression (a bad record inside a compressed
// buffer) is planted before the buffer is compressed, with AddRaw.
package etltest
