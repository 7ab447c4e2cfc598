package symbols

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sync/atomic"
	"time"
)

// ErrTimeout is wrapped by the error for a server that sent nothing
// for Options.Timeout.
var ErrTimeout = errors.New("symbol server timed out")

// dlStatus is what one download attempt came to.
type dlStatus uint8

const (
	dlFound    dlStatus = iota // the PDB is in s.res
	dlNext                     // try the next candidate on this server
	dlStopHere                 // give up on this server for this request
)

// searchServer asks the HTTP symbol server at base for NAME, then
// NAME_ (compressed), then file.ptr, and installs what it gets into dst
// (or the default cache).
func (s *search) searchServer(base string, dst []string) {
	if s.l.opt.Offline {
		s.note(Attempt{Where: base, Outcome: Skipped, Note: "offline"})
		return
	}
	if err := s.l.deadErr(base); err != nil {
		s.note(Attempt{Where: base, Outcome: Skipped, Note: "the server failed earlier in this run", Err: err})
		return
	}
	if len(dst) == 0 {
		dc, err := s.l.defaultCache()
		if err != nil {
			s.note(Attempt{Where: base, Outcome: Failed, Note: "nowhere to download to", Err: err})
			return
		}
		dst = []string{dc}
	}
	dir := base + "/" + url.PathEscape(s.name) + "/" + s.key + "/"
	for _, fn := range []string{s.name, compressedName(s.name)} {
		switch s.download(base, dir+url.PathEscape(fn), dst) {
		case dlFound, dlStopHere:
			return
		}
		if s.done() {
			return
		}
	}
	s.filePtr(base, dir+"file.ptr", dst)
}

// filePtr fetches and follows a server's file.ptr. Only a PATH that is
// an HTTP(S) URL is followed: a server may not point at local files.
func (s *search) filePtr(base, u string, dst []string) {
	resp, done, where, _ := s.get(base, u)
	if resp == nil {
		return
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxPtrSize+1))
	done()
	if err == nil && len(b) > maxPtrSize {
		err = fmt.Errorf("file.ptr larger than %d bytes", maxPtrSize)
	}
	var fp filePtr
	if err == nil {
		fp, err = parseFilePtr(b)
	}
	if err != nil {
		s.note(Attempt{Where: where, Outcome: Failed, Err: err})
		return
	}
	switch {
	case fp.path == "":
		s.note(Attempt{Where: where, Outcome: Message, Note: "MSG:" + fp.msg})
	case !isURL(fp.path):
		s.note(Attempt{Where: where, Outcome: Skipped, Note: "PATH:" + fp.path + " (a server's file.ptr may only point to URLs)"})
	default:
		s.note(Attempt{Where: where, Outcome: Pointer, Note: "PATH:" + fp.path})
		s.download(base, fp.path, dst)
	}
}

// get sends a GET for u. Without a usable 200 reply it records the
// attempt and returns a nil resp and what to do next: dlNext after a
// 404 (or 403, 410), dlStopHere after an error. done releases the
// reply. where is u without its query, plus the redirect target.
func (s *search) get(base, u string) (resp *http.Response, done func(), where string, next dlStatus) {
	where = stripQuery(u)
	ctx, cancel := context.WithCancel(s.ctx)
	timeout := s.l.opt.Timeout
	var timedOut atomic.Bool
	timer := time.AfterFunc(timeout, func() { timedOut.Store(true); cancel() })
	release := func() {
		timer.Stop()
		cancel()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		release()
		s.note(Attempt{Where: where, Outcome: Failed, Err: err})
		return nil, nil, where, dlStopHere
	}
	req.Header.Set("User-Agent", s.l.opt.UserAgent)
	resp, err = s.l.client.Do(req)
	if err != nil {
		release()
		if timedOut.Load() {
			err = fmt.Errorf("%w: no reply for %v", ErrTimeout, timeout)
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			ue.URL = stripQuery(ue.URL) // a redirect target's signature
		}
		s.netFailed(base, err)
		s.note(Attempt{Where: where, Outcome: Failed, Err: err})
		return nil, nil, where, dlStopHere
	}
	note := ""
	if final := stripQuery(resp.Request.URL.String()); final != where {
		note = "redirected to " + final
	}
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusNotFound, http.StatusGone, http.StatusForbidden:
		resp.Body.Close()
		release()
		n := "HTTP " + resp.Status
		if note != "" {
			n += ", " + note
		}
		s.note(Attempt{Where: where, Outcome: NotFound, Note: n})
		return nil, nil, where, dlNext
	default:
		resp.Body.Close()
		release()
		s.note(Attempt{Where: where, Outcome: Failed, Note: note, Err: fmt.Errorf("HTTP %s", resp.Status)})
		return nil, nil, where, dlStopHere
	}
	resp.Body = &stallBody{rc: resp.Body, timer: timer, d: timeout, timedOut: &timedOut}
	if note != "" {
		where += " (" + note + ")"
	}
	return resp, func() { resp.Body.Close(); release() }, where, dlNext
}

// stallBody restarts the timeout on every read, so that only a stall
// (not a long download) times out.
type stallBody struct {
	rc       io.ReadCloser
	timer    *time.Timer
	d        time.Duration
	timedOut *atomic.Bool
}

func (b *stallBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if b.timedOut.Load() && err != nil && !errors.Is(err, io.EOF) {
		return n, fmt.Errorf("%w: nothing received for %v", ErrTimeout, b.d)
	}
	b.timer.Reset(b.d)
	return n, err
}

func (b *stallBody) Close() error { return b.rc.Close() }

// download fetches u and, if it is the PDB (plain, cabinet or ZIP) and
// matches, installs it into dst.
func (s *search) download(base, u string, dst []string) dlStatus {
	resp, done, where, next := s.get(base, u)
	if resp == nil {
		return next
	}
	defer done()
	max := s.l.opt.MaxSize
	prog := progressFunc(s.l.opt.Progress, s.name, stripQuery(u), resp.ContentLength)
	failed := func(o Outcome, err error) dlStatus {
		prog.finish(err)
		s.note(Attempt{Where: where, Outcome: o, Err: err})
		return dlNext
	}
	if resp.ContentLength > max {
		return failed(Failed, fmt.Errorf("%w: the server announces %d bytes, the limit is %d", ErrTooLarge, resp.ContentLength, max))
	}
	prog.report(0)
	head := make([]byte, sniffLen)
	n, err := io.ReadFull(resp.Body, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		s.netFailed(base, err)
		failed(Failed, err)
		return dlStopHere
	}
	head = head[:n]
	kind := sniff(head)
	switch kind {
	case kindPDB, kindCab, kindZip:
	case kindMSFZ:
		return failed(Unsupported, &UnsupportedError{Offset: 0, What: "MSFZ compressed PDB container", Err: ErrMSFZ})
	default:
		return failed(Failed, notSymbolFile(head))
	}

	var netErr error
	body := io.MultiReader(bytes.NewReader(head), resp.Body)
	fill := func(w io.Writer) error {
		cw := &countWriter{w: w, prog: prog}
		_, err := io.Copy(cw, io.LimitReader(body, max+1))
		if err != nil {
			netErr = err
			return err
		}
		if cw.n > max {
			return fmt.Errorf("%w: more than %d bytes", ErrTooLarge, max)
		}
		if resp.ContentLength >= 0 && cw.n != resp.ContentLength {
			return fmt.Errorf("got %d of %d bytes", cw.n, resp.ContentLength)
		}
		return nil
	}
	var final string
	var p *PDB
	if kind == kindPDB {
		final, p, err = s.place(dst, nil, fill)
	} else {
		final, p, err = s.placeCompressed(dst[0], kind, fill, dst)
	}
	prog.finish(err)
	if err != nil {
		if netErr != nil {
			s.netFailed(base, netErr)
			s.note(Attempt{Where: where, Outcome: Failed, Err: err})
			return dlStopHere
		}
		s.noteErr(where, err)
		return dlNext
	}
	what := "downloaded to " + final
	if kind != kindPDB {
		what = "downloaded " + kind.String() + ", expanded to " + final
	}
	s.found(final, p, Attempt{Where: where, Outcome: Found, Note: what})
	return dlFound
}

// netFailed marks the server dead after a network failure that was not
// the caller's cancellation.
func (s *search) netFailed(base string, err error) {
	if s.ctx.Err() == nil {
		s.l.markDead(base, err)
	}
}

// placeCompressed downloads a compressed file to a temporary file in
// the store at root, expands it next to it and installs the PDB.
func (s *search) placeCompressed(root string, kind fileKind, fill func(io.Writer) error, dst []string) (string, *PDB, error) {
	st, err := s.stage(root)
	if err != nil {
		return "", nil, err
	}
	raw, err := st.temp()
	if err != nil {
		st.abort()
		return "", nil, err
	}
	err = fill(raw)
	var size int64
	if err == nil {
		size, err = raw.Seek(0, io.SeekEnd)
	}
	var final string
	var p *PDB
	if err == nil {
		final, p, err = s.place(dst, nil, func(w io.Writer) error {
			return s.expand(raw, size, kind, w)
		})
	}
	raw.Close()
	if err != nil {
		st.abort()
		return "", nil, err
	}
	os.Remove(raw.Name())
	return final, p, nil
}

// stripQuery drops the query and fragment of a URL for display: signed
// redirect targets carry their signature there.
func stripQuery(u string) string {
	pu, err := url.Parse(u)
	if err != nil {
		return u
	}
	pu.RawQuery, pu.Fragment, pu.User = "", "", nil
	return pu.String()
}

// progress reports one download to Options.Progress.
type progress struct {
	f     func(Progress)
	p     Progress
	last  time.Time
	ended bool
}

func progressFunc(f func(Progress), name, u string, total int64) *progress {
	return &progress{f: f, p: Progress{Name: name, URL: u, Total: total}}
}

// progressEvery limits how often progress is reported during a body.
const progressEvery = 50 * time.Millisecond

func (p *progress) report(done int64) {
	p.p.Done = done
	if p.f == nil {
		return
	}
	if now := time.Now(); done == 0 || now.Sub(p.last) >= progressEvery {
		p.last = now
		p.f(p.p)
	}
}

func (p *progress) finish(err error) {
	if p.f == nil || p.ended {
		return
	}
	p.ended = true
	p.p.Finished, p.p.Err = true, err
	p.f(p.p)
}

// countWriter counts bytes and reports progress.
type countWriter struct {
	w    io.Writer
	n    int64
	prog *progress
}

func (c *countWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n += int64(n)
	c.prog.report(c.n)
	return n, err
}
