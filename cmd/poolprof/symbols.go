package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/poolprof/poolprof/analysis"
	"github.com/poolprof/poolprof/etl"
	"github.com/poolprof/poolprof/pool"
	"github.com/poolprof/poolprof/stacks"
	"github.com/poolprof/poolprof/symbols"
)

// symbolFlags are the symbol options of stacks, pprof and symbols.
type symbolFlags struct {
	path      pathFlag
	noSymbols bool
	offline   bool
}

// pathFlag is a string flag that knows whether it was given, so that
// --symbols "" (no symbols) differs from no --symbols (the environment).
type pathFlag struct {
	value string
	set   bool
}

func (p *pathFlag) String() string { return p.value }
func (p *pathFlag) Set(s string) error {
	p.value, p.set = s, true
	return nil
}

func (s *symbolFlags) register(fs *flag.FlagSet, withNoSymbols bool) {
	fs.Var(&s.path, "symbols", "symbol `path` in _NT_SYMBOL_PATH syntax (folders, srv*CACHE*URL, cache*DIR; ';'-separated) "+
		"where the images' PDBs are looked for (default: $_NT_ALT_SYMBOL_PATH;$_NT_SYMBOL_PATH; empty: no symbols)")
	fs.BoolVar(&s.offline, "offline", false, "never download PDBs: skip the symbol servers of the symbol path")
	if withNoSymbols {
		fs.BoolVar(&s.noSymbols, "no-symbols", false, "do not look for PDBs: name frames module+0xRVA")
	}
}

// symbolPath returns the symbol path to search: --symbols, else the
// environment. A bad --symbols is a usage error (ok false, status 2); a
// bad environment variable only gets a warning and no symbols.
func (s *symbolFlags) symbolPath(cmd string, stderr io.Writer) (p symbols.SymbolPath, status int, ok bool) {
	if s.noSymbols {
		return p, exitOK, true
	}
	if s.path.set {
		p, err := symbols.ParseSymbolPath(s.path.value)
		if err != nil {
			fmt.Fprintf(stderr, "poolprof %s: --symbols: %v\n", cmd, err)
			return p, exitUsage, false
		}
		return p, exitOK, true
	}
	p, err := symbols.SymbolPathFromEnv()
	if err != nil {
		fmt.Fprintf(stderr, "poolprof %s: warning: ignoring _NT_ALT_SYMBOL_PATH/_NT_SYMBOL_PATH: %v\n", cmd, err)
		return symbols.SymbolPath{}, exitOK, true
	}
	return p, exitOK, true
}

// resolver returns a Resolver searching path, drawing download progress
// on stderr when it is a terminal.
func (s *symbolFlags) resolver(path symbols.SymbolPath, stderr io.Writer) (*symbols.Resolver, *downloadProgress) {
	prog := newDownloadProgress(stderr)
	opt := symbols.Options{Offline: s.offline}
	if prog.enabled {
		opt.Progress = prog.update
	}
	return symbols.NewResolver(symbols.NewLocator(path, opt)), prog
}

// symbolNamer returns the namer for the frames of the stacks refs of res:
// module!function where the PDB of the image is on the symbol path, else
// module+0xRVA. It finds the PDBs of the images those stacks pass
// through, several at once, before it returns, and warns on stderr about
// those it did not find.
func symbolNamer(cmd, name string, res *analysis.Result, refs []stacks.Ref, path symbols.SymbolPath, sf *symbolFlags, stderr io.Writer) *analysis.SymbolNamer {
	n := &analysis.SymbolNamer{Modules: res.Modules}
	if path.IsZero() {
		return n
	}
	r, prog := sf.resolver(path, stderr)
	mods := analysis.StackModules(res.Modules, res.Stacks, refs)
	results := r.Load(context.Background(), analysis.SymbolRequests(mods))
	prog.finish()
	n.Resolver = r
	warnSymbols(stderr, cmd, name, results)
	return n
}

// warnSymbols says which PDBs were not found, and which were found with
// the wrong identity, in a line or two.
func warnSymbols(stderr io.Writer, cmd, name string, results []symbols.Result) {
	var missing, mismatched []string
	found := 0
	for _, r := range results {
		label := cmp.Or(r.Name, r.Request.Name)
		switch {
		case r.PDB != nil:
			found++
		case hasOutcome(r.Tried, symbols.Mismatch):
			mismatched = append(mismatched, label)
		default:
			missing = append(missing, label)
		}
	}
	if len(missing)+len(mismatched) == 0 {
		return
	}
	msg := fmt.Sprintf("poolprof %s: symbols: %d of %d PDBs found", cmd, found, len(results))
	if len(mismatched) > 0 {
		msg += fmt.Sprintf("; %s: only PDBs of another GUID or age (not used)", strings.Join(mismatched, ", "))
	}
	if len(missing) > 0 {
		msg += "; not found: " + shortList(missing, 8)
	}
	fmt.Fprintf(stderr, "%s (see poolprof symbols %s)\n", msg, name)
}

func hasOutcome(tried []symbols.Attempt, o symbols.Outcome) bool {
	for _, a := range tried {
		if a.Outcome == o {
			return true
		}
	}
	return false
}

// shortList joins the first max items and counts the rest.
func shortList(items []string, max int) string {
	if len(items) <= max {
		return strings.Join(items, ", ")
	}
	return strings.Join(items[:max], ", ") + fmt.Sprintf(" and %d more", len(items)-max)
}

// poolRefs lists the stack references of the allocations and groups the
// analysis kept.
func poolRefs(res *analysis.Result) []stacks.Ref {
	refs := make([]stacks.Ref, 0, len(res.Pool.Outstanding)+len(res.Pool.Closed))
	for i := range res.Pool.Outstanding {
		refs = append(refs, stacks.Ref(res.Pool.Outstanding[i].Stack))
	}
	for i := range res.Pool.Closed {
		refs = append(refs, stacks.Ref(res.Pool.Closed[i].Stack))
	}
	return refs
}

// downloadProgress draws one line on a terminal while PDBs download.
type downloadProgress struct {
	w       io.Writer
	enabled bool

	mu     sync.Mutex
	active map[string]symbols.Progress // by URL
	last   time.Time
	drawn  bool
}

func newDownloadProgress(stderr io.Writer) *downloadProgress {
	return &downloadProgress{w: stderr, enabled: isTerminal(stderr), active: map[string]symbols.Progress{}}
}

// update takes a report from the Locator; it is called from several
// goroutines. The line is redrawn at most ten times a second.
func (p *downloadProgress) update(pr symbols.Progress) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if pr.Finished {
		delete(p.active, pr.URL)
	} else {
		p.active[pr.URL] = pr
	}
	now := time.Now()
	if len(p.active) == 0 || now.Sub(p.last) < 100*time.Millisecond {
		return
	}
	p.last = now
	line := "downloading " + pr.String()
	if pr.Finished {
		for _, a := range p.active {
			line = "downloading " + a.String()
			break
		}
	}
	if n := len(p.active); n > 1 {
		line += fmt.Sprintf(" (%d downloads)", n)
	}
	fmt.Fprintf(p.w, "\r\x1b[K%s", line)
	p.drawn = true
}

// finish clears the line.
func (p *downloadProgress) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.drawn {
		fmt.Fprint(p.w, "\r\x1b[K")
		p.drawn = false
	}
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

const symbolsUsage = "poolprof symbols [--symbols PATH] [--offline] [--format table|json] FILE"

// runSymbols lists the images of a trace with their PDB identities and
// says where each PDB was found on the symbol path, or where it was
// looked for and why it was not used.
func runSymbols(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("symbols")
	format := newChoice("table", "table", "json")
	fs.Var(format, "format", "output format: table or json")
	var sf symbolFlags
	sf.register(fs, false)
	pos, status, ok := parseArgs(fs, args, symbolsUsage, stdout, stderr)
	if !ok {
		return status
	}
	name, ok := oneFile(fs, pos, symbolsUsage, stderr)
	if !ok {
		return exitUsage
	}
	path, status, ok := sf.symbolPath("symbols", stderr)
	if !ok {
		return status
	}
	mods, status := traceModules(name, stderr)
	if mods == nil {
		return status
	}

	images := imageRows(mods)
	var reqs []symbols.Request
	for _, im := range images {
		if im.hasPDB {
			reqs = append(reqs, im.req)
		}
	}
	r, prog := sf.resolver(path, stderr)
	results := r.Load(context.Background(), reqs)
	prog.finish()
	for i, j := 0, 0; i < len(images); i++ {
		if images[i].hasPDB {
			images[i].res = results[j]
			j++
		}
	}

	var err error
	if format.value == "json" {
		err = writeSymbolsJSON(stdout, path, images)
	} else {
		err = writeSymbolsTable(stdout, path, images)
	}
	if err != nil {
		fmt.Fprintf(stderr, "poolprof symbols: writing output: %v\n", err)
		return exitFail
	}
	return exitOK
}

// traceModules reads the module map of the trace name: its Image,
// ImageID, DbgID_RSDS and Process events.
func traceModules(name string, stderr io.Writer) (*stacks.Modules, int) {
	f, ok := openTrace("symbols", name, stderr)
	if !ok {
		return nil, exitFail
	}
	defer f.Close()
	mods := stacks.NewModules()
	r := f.NewReader(etl.OrderTime)
	p := newProgress(stderr, name, f.Size())
	var ev etl.Event
	for n := 0; ; n++ {
		err := r.Next(&ev)
		if err == io.EOF {
			break
		}
		if err != nil {
			p.finish()
			fmt.Fprintf(stderr, "poolprof symbols: %s: %v\n", name, err)
			return nil, exitFail
		}
		if n%(1<<16) == 0 {
			p.update(r.Stats().BytesRead)
		}
		mods.Observe(&ev)
	}
	p.finish()
	mods.Finish()
	warnProblems(stderr, "symbols", name, r.Stats(), r.Problems())
	return mods, exitOK
}

// imageRow is one image of the symbols report.
type imageRow struct {
	mod     *stacks.Module
	process string // "kernel" or "lsass.exe (712)"
	hasPDB  bool
	req     symbols.Request
	res     symbols.Result
}

// imageRows lists the kernel images by base, then each process's images
// by process id and base.
func imageRows(mods *stacks.Modules) []imageRow {
	var rows []imageRow
	for _, m := range mods.Modules() {
		row := imageRow{mod: m, process: "kernel", hasPDB: !m.PDB.IsZero()}
		if !m.Kernel {
			row.process = processName(mods, m.PID)
		}
		if row.hasPDB {
			row.req = analysis.PDBRequest(m.PDB)
		}
		rows = append(rows, row)
	}
	slices.SortStableFunc(rows, func(a, b imageRow) int {
		if a.mod.Kernel != b.mod.Kernel {
			if a.mod.Kernel {
				return -1
			}
			return 1
		}
		if !a.mod.Kernel {
			if c := cmp.Compare(a.mod.PID, b.mod.PID); c != 0 {
				return c
			}
		}
		return cmp.Compare(a.mod.Base, b.mod.Base)
	})
	return rows
}

func processName(mods *stacks.Modules, pid uint32) string {
	if pid == pool.UnknownPID {
		return "unknown"
	}
	if n := mods.ProcessName(pid); n != "" {
		return fmt.Sprintf("%s (%d)", n, pid)
	}
	return fmt.Sprintf("pid %d", pid)
}

// label names the image in a sentence: "hal.dll (kernel)", "ntdll.dll
// in lsass.exe (712)".
func (im *imageRow) label() string {
	if im.mod.Kernel {
		return im.mod.Name + " (kernel)"
	}
	return im.mod.Name + " in " + im.process
}

// status sums up the search for an image's PDB in a word or two.
func (im *imageRow) status() string {
	switch {
	case !im.hasPDB:
		return "no identity"
	case im.res.PDB != nil:
		return "found"
	case hasOutcome(im.res.Tried, symbols.Mismatch):
		return "mismatch"
	case errors.Is(im.res.Err, symbols.ErrNotFound):
		return "not found"
	}
	return "error"
}

// why says, for an image whose PDB was not used, why.
func (im *imageRow) why() string {
	switch {
	case !im.hasPDB:
		return "the trace has no DbgID_RSDS event for it"
	case im.res.Err != nil:
		return im.res.Err.Error()
	}
	return ""
}

func hexAddr(v uint64) string { return "0x" + strconv.FormatUint(v, 16) }

func describePath(p symbols.SymbolPath) string {
	if p.IsZero() {
		return "(empty: give --symbols PATH or set _NT_SYMBOL_PATH)"
	}
	return p.String()
}

// writeSymbolsTable writes one line per image, then, for each PDB not
// used, where it was looked for.
func writeSymbolsTable(w io.Writer, path symbols.SymbolPath, images []imageRow) error {
	bw := &errWriter{w: w}
	fmt.Fprintf(bw, "Symbol path: %s\n\n", describePath(path))
	tw := tabwriter.NewWriter(bw, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "IMAGE\tPROCESS\tBASE\tSIZE\tPDB\tGUID\tAGE\tSTATUS\tPDB FILE\tFROM")
	for i := range images {
		im := &images[i]
		pdb, guid, age, file, source := "-", "-", "-", "-", "-"
		if im.hasPDB {
			pdb = cmp.Or(im.res.Name, im.mod.PDB.Name)
			guid = im.req.GUID.String()
			age = strconv.FormatUint(uint64(im.req.Age), 10)
		}
		if im.res.PDB != nil {
			file, source = im.res.Path, im.res.Source
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", im.mod.Name, im.process, hexAddr(im.mod.Base), hexAddr(im.mod.Size),
			pdb, guid, age, im.status(), file, source)
	}
	tw.Flush()

	// Where the missing PDBs were looked for, once per PDB.
	seen := map[symbols.Request]bool{}
	first := true
	for i := range images {
		im := &images[i]
		if im.res.PDB != nil || seen[im.req] {
			continue
		}
		if im.hasPDB {
			seen[im.req] = true
		}
		if first {
			fmt.Fprintf(bw, "\nNot used:\n")
			first = false
		}
		fmt.Fprintf(bw, "%s: %s\n", im.label(), im.why())
		for _, a := range im.res.Tried {
			fmt.Fprintf(bw, "\t%s\n", a)
		}
	}
	for i := range images {
		if im := &images[i]; im.res.PDB != nil && len(im.res.Tried) > 1 {
			// Found, but not at the first place: say what came before,
			// mismatches in particular.
			if !hasOutcome(im.res.Tried, symbols.Mismatch) || seen[im.req] {
				continue
			}
			seen[im.req] = true
			fmt.Fprintf(bw, "\n%s: found after skipping a PDB of another identity:\n", im.label())
			for _, a := range im.res.Tried {
				fmt.Fprintf(bw, "\t%s\n", a)
			}
		}
	}
	return bw.err
}

// errWriter keeps the first write error.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(b []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(b)
	e.err = err
	return n, err
}

// The JSON form of the symbols report.
type symbolsJSON struct {
	SymbolPath string      `json:"symbol_path"`
	Images     []imageJSON `json:"images"`
}

type imageJSON struct {
	Image   string `json:"image"`
	Path    string `json:"path"`
	Kernel  bool   `json:"kernel"`
	PID     uint32 `json:"pid"`
	Process string `json:"process"`
	Base    string `json:"base"`
	Size    string `json:"size"`
	// PDB is the identity from the trace; absent without one.
	PDB    *pdbJSON `json:"pdb,omitempty"`
	Status string   `json:"status"` // found, not found, mismatch, no identity, error
	// File and Source say where the PDB was found: the file used and the
	// symbol path element that gave it.
	File   string `json:"file,omitempty"`
	Source string `json:"source,omitempty"`
	// Error says why the PDB was not used.
	Error string        `json:"error,omitempty"`
	Tried []attemptJSON `json:"tried"`
}

type pdbJSON struct {
	Name string `json:"name"`
	GUID string `json:"guid"`
	Age  uint32 `json:"age"`
	Key  string `json:"key"` // the symbol store key: GUID digits and age in hex
}

type attemptJSON struct {
	Element string `json:"element"`
	Where   string `json:"where"`
	Outcome string `json:"outcome"`
	Got     string `json:"got,omitempty"` // the identity of a mismatched PDB
	Note    string `json:"note,omitempty"`
	Error   string `json:"error,omitempty"`
}

func writeSymbolsJSON(w io.Writer, path symbols.SymbolPath, images []imageRow) error {
	out := symbolsJSON{SymbolPath: path.String(), Images: make([]imageJSON, 0, len(images))}
	for i := range images {
		im := &images[i]
		j := imageJSON{
			Image: im.mod.Name, Path: im.mod.Path, Kernel: im.mod.Kernel, PID: im.mod.PID, Process: im.process,
			Base: hexAddr(im.mod.Base), Size: hexAddr(im.mod.Size), Status: im.status(), Tried: []attemptJSON{},
		}
		if im.hasPDB {
			j.PDB = &pdbJSON{Name: im.mod.PDB.Name, GUID: im.req.GUID.String(), Age: im.req.Age, Key: im.req.Identity().StoreKey()}
		}
		if im.res.PDB != nil {
			j.File, j.Source = im.res.Path, im.res.Source
		} else {
			j.Error = im.why()
		}
		for _, a := range im.res.Tried {
			aj := attemptJSON{Element: a.Element, Where: a.Where, Outcome: a.Outcome.String(), Note: a.Note}
			if a.Outcome == symbols.Mismatch {
				aj.Got = a.Got.String()
			}
			if a.Err != nil {
				aj.Error = a.Err.Error()
			}
			j.Tried = append(j.Tried, aj)
		}
		out.Images = append(out.Images, j)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
