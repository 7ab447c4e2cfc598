package etltest_test

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/poolprof/poolprof/etl"
	"github.com/poolprof/poolprof/etl/etltest"
)

// Build a two-CPU kernel trace holding one pool allocation and its free,
// and find where the allocation landed.
func Example() {
	b, err := etltest.New(etltest.Options{CPUs: 2, BufferSize: 8 << 10})
	if err != nil {
		panic(err)
	}
	// A PoolTrace payload (hook group 0x0E): here just a tag and a size.
	payload := make([]byte, 16)
	copy(payload, "Toke")
	binary.LittleEndian.PutUint64(payload[8:], 1664)

	alloc, err := b.Add(0, etltest.Record{
		Kind: etl.KindSystem64, HookID: 0x0E20, Version: 2,
		ThreadID: 0x1A80, ProcessID: 0x2E4,
		Timestamp: b.Timestamp(10 * time.Millisecond),
		Payload:   payload,
	})
	if err != nil {
		panic(err)
	}
	if _, err := b.Add(1, etltest.Record{
		Kind: etl.KindSystem64, HookID: 0x0E21, Version: 2,
		Timestamp: b.Timestamp(20 * time.Millisecond),
		Payload:   payload,
	}); err != nil {
		panic(err)
	}
	file, err := b.Bytes()
	if err != nil {
		panic(err)
	}
	p, _ := b.Placement(alloc)
	fmt.Printf("%d bytes, %d buffers\n", len(file), len(b.Buffers()))
	fmt.Printf("allocation in buffer %d at +%#x\n", p.Buffer, p.Offset)
	// Output:
	// 24576 bytes, 3 buffers
	// allocation in buffer 1 at +0x0
}

// Damage a valid file: plant a record size that runs past the buffer's end
// of data, the way a reader's robustness test would.
func Example_damage() {
	b, _ := etltest.New(etltest.Options{BufferSize: 4 << 10})
	ref, _ := b.Add(0, etltest.Record{Kind: etl.KindPerfInfo64, HookID: 0x0F2E, Version: 2, Payload: make([]byte, 16)})
	file, _ := b.Bytes()

	off, _ := b.FileOffset(ref)
	binary.LittleEndian.PutUint16(file[off+int64(etltest.SizeFieldOffset(etl.KindPerfInfo64)):], 0x0FF0)

	info := b.Buffers()[1]
	fmt.Printf("buffer 1 at %#x: Offset %#x, record at %#x now claims %#x bytes\n",
		info.FileOffset, binary.LittleEndian.Uint32(file[info.FileOffset+etltest.HdrOffset:]), off, 0x0FF0)
	// Output:
	// buffer 1 at 0x1000: Offset 0x68, record at 0x1048 now claims 0xff0 bytes
}
