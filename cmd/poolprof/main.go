// Command poolprof reads Windows ETW .etl files on any OS and finds kernel
// pool leaks.
//
// Usage:
//
//	poolprof <command> [flags] FILE
//
// Run "poolprof help" for the list of commands.
package main

import (
	"fmt"
	"io"
	"os"
)

// Exit statuses. Scripts tell a damaged trace (1) from a wrong command
// line (2) by them.
const (
	exitOK    = 0
	exitFail  = 1
	exitUsage = 2
)

// command is one subcommand. Each lives in its own file; run dispatches on
// the table so that adding a subcommand touches one line here.
type command struct {
	name    string
	summary string
	// run gets the arguments after the command name and returns the exit
	// status.
	run func(args []string, stdout, stderr io.Writer) int
}

// commands lists the subcommands in the order usage prints them.
var commands = []command{
	{"info", "print the trace header, buffers and an inventory of its events", runInfo},
	{"events", "print every event, one per line (text or JSON Lines)", runEvents},
	{"summary", "pool usage by tag and pool, like poolmon, with WPA's AIFO/AIFI/AOFI sets", runSummary},
	{"stacks", "fold the stacks of outstanding (or chosen) allocations", runStacks},
	{"pprof", "write a pprof heap profile of the pool allocations", runPprof},
	{"sym", "name RVAs with a PDB file: function+offset and file:line", runSym},
	{"symbols", "list the trace's images and where their PDBs are on the symbol path", runSymbols},
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is main without the process: tests call it in-process with their own
// writers.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return exitUsage
	}
	name := args[0]
	switch name {
	case "help", "-h", "-help", "--help":
		if len(args) > 1 {
			// "poolprof help events" is "poolprof events -h".
			if c := lookup(args[1]); c != nil {
				return c.run([]string{"-h"}, stdout, stderr)
			}
			fmt.Fprintf(stderr, "poolprof: unknown command %q\n", args[1])
			usage(stderr)
			return exitUsage
		}
		usage(stdout)
		return exitOK
	}
	c := lookup(name)
	if c == nil {
		fmt.Fprintf(stderr, "poolprof: unknown command %q\n", name)
		usage(stderr)
		return exitUsage
	}
	return c.run(args[1:], stdout, stderr)
}

func lookup(name string) *command {
	for i := range commands {
		if commands[i].name == name {
			return &commands[i]
		}
	}
	return nil
}

func usage(w io.Writer) {
	fmt.Fprint(w, `poolprof reads Windows ETW .etl files and finds kernel pool leaks.

Usage:
	poolprof <command> [flags] FILE

Commands:
`)
	for _, c := range commands {
		fmt.Fprintf(w, "\t%-8s %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, `
Run "poolprof help <command>" or "poolprof <command> -h" for its flags.

Exit status: 0 on success, 1 when the file cannot be read or analysed,
2 on bad usage.
`)
}
