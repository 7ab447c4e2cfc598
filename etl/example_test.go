package etl_test

import (
	"bytes"
	"fmt"
	"time"

	"github.com/poolprof/poolprof/etl"
	"github.com/poolprof/poolprof/etl/etltest"
)

// Example reads a small two-processor trace in time order: the free logged
// on processor 1 comes out after the allocation logged on processor 0.
func Example() {
	b, _ := etltest.New(etltest.Options{CPUs: 2, StartTime: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)})
	b.Add(1, etltest.Record{Kind: etl.KindSystem64, HookID: 0x0E22, Version: 2, Timestamp: b.Timestamp(2 * time.Second)}) // free
	b.Add(0, etltest.Record{Kind: etl.KindSystem64, HookID: 0x0E20, Version: 2, Timestamp: b.Timestamp(time.Second)})     // allocation
	data, _ := b.Bytes()

	f, err := etl.NewFile(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		fmt.Println(err)
		return
	}
	for ev, err := range f.Events() {
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("%s cpu %d %s opcode %d\n", f.Time(ev.Timestamp).Format(time.TimeOnly), ev.Processor, etl.ProviderName(ev.Provider), ev.Opcode)
	}
	// Output:
	// 12:00:00 cpu 0 EventTrace opcode 0
	// 12:00:01 cpu 0 PoolTrace opcode 32
	// 12:00:02 cpu 1 PoolTrace opcode 34
}

// ExampleReader_Next walks a file in file order with the allocation-free
// pull reader, and reports damage without stopping.
func ExampleReader_Next() {
	b, _ := etltest.New(etltest.Options{CPUs: 1})
	for i := range 3 {
		b.Add(0, etltest.Record{Kind: etl.KindPerfInfo64, HookID: 0x0F2E, Timestamp: int64(10 + i), Payload: []byte{byte(i)}})
	}
	data, _ := b.Bytes()
	f, _ := etl.NewFile(bytes.NewReader(data), int64(len(data)))

	r := f.NewReader(etl.OrderFile)
	var ev etl.Event
	for r.Next(&ev) == nil {
		fmt.Printf("buffer %d offset %#x %s hook %#04x payload %d bytes\n", ev.Buffer, ev.Offset, ev.Kind, ev.HookID, len(ev.Payload))
	}
	fmt.Println("problems:", len(r.Problems()))
	// Output:
	// buffer 0 offset 0x0 SYSTEM64 hook 0x0000 payload 372 bytes
	// buffer 1 offset 0x0 PERFINFO64 hook 0x0f2e payload 1 bytes
	// buffer 1 offset 0x18 PERFINFO64 hook 0x0f2e payload 1 bytes
	// buffer 1 offset 0x30 PERFINFO64 hook 0x0f2e payload 1 bytes
	// problems: 0
}
