// Command gen writes poolprof's bundled example trace,
// testdata/example/tokeleak.etl, and prints what it holds.
//
//	go run ./internal/tokeleak/gen -o testdata/example/tokeleak.etl
//
// Without flags other than -o it writes tokeleak.Committed, the recipe of
// the committed file; -raw, -leaked, -background, -duration and -seed
// change it.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/poolprof/poolprof/internal/tokeleak"
)

func main() {
	out := flag.String("o", "tokeleak.etl", "output `file` (- for stdout)")
	raw := flag.Bool("raw", false, "write uncompressed buffers")
	leaked := flag.Int("leaked", 0, "leaked 1664-byte Toke allocations (0: default)")
	background := flag.Int("background", 0, "background allocations (0: default)")
	duration := flag.Duration("duration", 0, "trace duration (0: default)")
	seed := flag.Uint64("seed", 0, "generator seed (0: default)")
	quiet := flag.Bool("q", false, "print nothing")
	flag.Parse()
	if flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}

	opts := tokeleak.Committed
	opts.Compressed = !*raw
	opts.Leaked, opts.Background, opts.Duration, opts.Seed = *leaked, *background, *duration, *seed

	var buf bytes.Buffer
	t, err := tokeleak.Build(&buf, opts)
	if err == nil {
		if *out == "-" {
			_, err = os.Stdout.Write(buf.Bytes())
		} else {
			err = os.WriteFile(*out, buf.Bytes(), 0o644)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
	if !*quiet && *out != "-" {
		summary(os.Stdout, *out, buf.Len(), t)
	}
}

func summary(w io.Writer, name string, size int, t *tokeleak.Truth) {
	o := t.Options
	fmt.Fprintf(w, "%s: %d bytes (compressed %v), %d events, %v of trace\n",
		name, size, o.Compressed, t.Events.Total, time.Duration((t.End-t.T0)*100).Round(time.Second))
	fmt.Fprintf(w, "options: leaked %d, background %d, duration %v, seed %#x\n\n", o.Leaked, o.Background, o.Duration, o.Seed)

	fmt.Fprintf(w, "%-8s %-5s %7s %7s %7s %11s %7s %10s %6s %5s\n",
		"tag", "type", "allocs", "frees", "aifo", "aifo_bytes", "aifi", "aifi_bytes", "aofi", "lost")
	rows := slices.Clone(t.Rows)
	slices.SortStableFunc(rows, func(a, b tokeleak.Row) int {
		switch {
		case a.AIFOBytes > b.AIFOBytes:
			return -1
		case a.AIFOBytes < b.AIFOBytes:
			return 1
		}
		return 0
	})
	for _, r := range append(rows, t.Totals) {
		tag, typ := r.Tag, "Nonp"
		if r.Paged {
			typ = "Paged"
		}
		if tag == "" {
			tag, typ = "TOTAL", ""
		}
		fmt.Fprintf(w, "%-8s %-5s %7d %7d %7d %11d %7d %10d %6d %5d\n", tag, typ,
			r.Allocs, r.Frees, r.AIFOCount, r.AIFOBytes, r.AIFICount, r.AIFIBytes, r.AOFICount, r.LostFrees)
	}

	n, _ := t.Count(tokeleak.TokeTag, 0, tokeleak.AIFO)
	n1664, _ := t.Count(tokeleak.TokeTag, tokeleak.TokeSize, tokeleak.AIFO)
	fmt.Fprintf(w, "\nToke AIFO: %d allocations, %d of them %d bytes; stacks:\n", n, n1664, tokeleak.TokeSize)
	for _, s := range t.TokeAIFO {
		fmt.Fprintf(w, "  %5d allocs %9d bytes  %s\n", s.Count, s.Bytes, strings.Join(s.Frames, " <- "))
	}
	sc := t.StackCounts
	fmt.Fprintf(w, "\nstacks: inline %d, keyed %d, none %d; user parts inline %d, keyed %d, undefined %d, never %d (at once %d); frees with stack %d\n",
		sc.Inline, sc.Keyed, sc.NoStack, sc.UserInline, sc.UserKeyed, sc.UserUndefined, sc.UserNever, sc.UserImmediate, sc.FreesWithStack)
	fmt.Fprintf(w, "keys: %d kernel, %d user, %d reused, %d in both caches; %d KeyDelete, %d KeyRundown\n",
		sc.KernelKeys, sc.UserKeys, sc.ReusedKeys, sc.SharedKeys, sc.KeyDeletes, sc.KeyRundowns)
	fmt.Fprintf(w, "session pool: %d allocs, %d frees, %d keys, %d addresses in both sessions\n",
		t.Sessions.Allocs, t.Sessions.Frees, t.Sessions.Keys, t.Sessions.SharedAddrs)
	fmt.Fprintf(w, "lost frees %d, AIFI freed on another CPU %d, address reuses %d\n", t.LostFrees, t.CrossCPU, t.AddressReuses)

	hooks := make([]uint16, 0, len(t.Events.Hooks))
	for h := range t.Events.Hooks {
		hooks = append(hooks, h)
	}
	slices.Sort(hooks)
	fmt.Fprintf(w, "events by hook:")
	for _, h := range hooks {
		fmt.Fprintf(w, " %#04x:%d", h, t.Events.Hooks[h])
	}
	fmt.Fprintf(w, "; ImageID opcode 0:%d 36:%d\n", t.Events.ImageID[tokeleak.OpImageID], t.Events.ImageID[tokeleak.OpDbgIDRSDS])
}
