package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/poolprof/poolprof/etl"
)

// newFlagSet returns a flag set that reports nothing by itself: parseArgs
// decides where help and errors go, so that "-h" prints to stdout with
// status 0 and a bad flag prints to stderr with status 2.
func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet("poolprof "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// parseArgs parses flags wherever they appear among the arguments, so that
// both "events --format jsonl FILE" and "events FILE --format jsonl" work
// ("--" ends the flags). It returns the positional arguments and, when
// parsing should stop the command, the exit status to return (ok false).
func parseArgs(fs *flag.FlagSet, args []string, usageLine string, stdout, stderr io.Writer) (pos []string, status int, ok bool) {
	for {
		err := fs.Parse(args)
		if errors.Is(err, flag.ErrHelp) {
			printFlagUsage(stdout, fs, usageLine)
			return nil, exitOK, false
		}
		if err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", fs.Name(), err)
			printFlagUsage(stderr, fs, usageLine)
			return nil, exitUsage, false
		}
		rest := fs.Args()
		if consumed := args[:len(args)-len(rest)]; len(consumed) > 0 && consumed[len(consumed)-1] == "--" {
			return append(pos, rest...), exitOK, true
		}
		if len(rest) == 0 {
			return pos, exitOK, true
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// oneFile checks that exactly one FILE was given.
func oneFile(fs *flag.FlagSet, pos []string, usageLine string, stderr io.Writer) (string, bool) {
	switch len(pos) {
	case 1:
		return pos[0], true
	case 0:
		fmt.Fprintf(stderr, "%s: missing FILE\n", fs.Name())
	default:
		fmt.Fprintf(stderr, "%s: want one FILE, got %d: %s\n", fs.Name(), len(pos), strings.Join(pos, " "))
	}
	printFlagUsage(stderr, fs, usageLine)
	return "", false
}

func printFlagUsage(w io.Writer, fs *flag.FlagSet, usageLine string) {
	fmt.Fprintf(w, "Usage: %s\n", usageLine)
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
}

// choice is a string flag limited to a fixed set of values, so that a typo
// is a usage error (status 2) rather than a silent default.
type choice struct {
	value   string
	allowed []string
}

func newChoice(def string, allowed ...string) *choice {
	return &choice{value: def, allowed: allowed}
}

func (c *choice) String() string {
	if c == nil {
		return ""
	}
	return c.value
}

func (c *choice) Set(s string) error {
	for _, a := range c.allowed {
		if s == a {
			c.value = s
			return nil
		}
	}
	return fmt.Errorf("must be one of %s", strings.Join(c.allowed, ", "))
}

// openTrace opens name and reports a failure on stderr. The error of
// etl.Open already names the file, and a FormatError the byte offset.
func openTrace(cmd, name string, stderr io.Writer) (*etl.File, bool) {
	f, err := etl.Open(name)
	if err != nil {
		fmt.Fprintf(stderr, "poolprof %s: %v\n", cmd, err)
		return nil, false
	}
	return f, true
}

// maxShownProblems is how many problems a warning lists; the rest are
// counted.
const maxShownProblems = 5

// warnProblems prints, after the output, what the reader had to skip:
// damage does not fail a run (every intact buffer is still read) but the
// user must know that the output is incomplete.
func warnProblems(stderr io.Writer, cmd, name string, st *etl.Stats, problems []*etl.FormatError) {
	if st.Problems > 0 {
		fmt.Fprintf(stderr, "poolprof %s: warning: %s: %d %s (%d damaged %s, %d bad %s skipped)\n",
			cmd, name, st.Problems, plural(st.Problems, "problem", "problems"),
			st.DamagedBuffers, plural(st.DamagedBuffers, "buffer", "buffers"),
			st.BadRecords, plural(int(st.BadRecords), "record", "records"))
		for i, p := range problems {
			if i == maxShownProblems {
				break
			}
			fmt.Fprintf(stderr, "\t%v\n", p)
		}
		if st.Problems > maxShownProblems {
			fmt.Fprintf(stderr, "\t... and %d more\n", st.Problems-min(maxShownProblems, len(problems)))
		}
	}
	if st.OutOfOrder > 0 {
		fmt.Fprintf(stderr, "poolprof %s: warning: %s: %d %s out of time order (a buffer's timestamps go back)\n",
			cmd, name, st.OutOfOrder, plural(int(st.OutOfOrder), "event", "events"))
	}
	if st.Unknown > 0 {
		fmt.Fprintf(stderr, "poolprof %s: warning: %s: %d %s of unknown header kinds skipped (%s)\n",
			cmd, name, st.Unknown, plural(int(st.Unknown), "record", "records"), unknownKinds(st))
	}
}

// unknownKinds lists the skipped header kinds with their counts, most
// frequent first.
func unknownKinds(st *etl.Stats) string {
	type kc struct {
		kind  int
		count int64
	}
	var ks []kc
	for k, n := range st.UnknownByKind {
		if n > 0 {
			ks = append(ks, kc{k, n})
		}
	}
	sort.Slice(ks, func(i, j int) bool {
		if ks[i].count != ks[j].count {
			return ks[i].count > ks[j].count
		}
		return ks[i].kind < ks[j].kind
	})
	parts := make([]string, len(ks))
	for i, k := range ks {
		parts[i] = fmt.Sprintf("kind 0x%02x: %d", k.kind, k.count)
	}
	return strings.Join(parts, ", ")
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// providerLabel is the short name of a well-known provider, else its GUID.
func providerLabel(g etl.GUID) string {
	if n := etl.ProviderName(g); n != "" {
		return n
	}
	return g.String()
}

// isEventHeader reports whether records of kind k carry the EVENT_HEADER
// fields (id, task, keywords, channel, flags, event property).
func isEventHeader(k etl.HeaderKind) bool {
	return k == etl.KindEventHeader32 || k == etl.KindEventHeader64
}

// hasLevel reports whether records of kind k carry a level: EVENT_HEADER,
// and the classic FULL_HEADER and INSTANCE headers.
func hasLevel(k etl.HeaderKind) bool {
	switch k {
	case etl.KindEventHeader32, etl.KindEventHeader64,
		etl.KindFullHeader32, etl.KindFullHeader64,
		etl.KindInstance32, etl.KindInstance64:
		return true
	}
	return false
}

// hasThread reports whether the event carries a process and thread id: the
// header kind says so, or a WPP message carried its optional system info.
func hasThread(ev *etl.Event) bool {
	if ev.Kind == etl.KindMessage {
		return ev.ProcessID != ^uint32(0) || ev.ThreadID != ^uint32(0)
	}
	return ev.HasThread()
}
