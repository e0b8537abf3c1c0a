package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/handoffmed/handoff/platform/record"
)

// fileEvent is the part of a file event wait follows.
type fileEvent struct {
	ID       string           `json:"id"`
	Path     string           `json:"path"`
	Status   string           `json:"status"`
	Stage    string           `json:"stage"`
	Pages    int              `json:"pages"`
	OCRPages int              `json:"ocr_pages"`
	Progress *record.Progress `json:"progress"`
	Error    *record.Error    `json:"error"`
}

// caseWatch is what the events of a case said so far.
type caseWatch struct {
	files   map[string]fileEvent
	revs    map[string]uint64
	report  *record.Report
	started time.Time
}

// idle: every file is processed and the checklist reflects the last of them.
func (w *caseWatch) idle() bool {
	if len(w.files) == 0 || w.report == nil || w.report.Pending > 0 {
		return false
	}
	var maxRev uint64
	for id, f := range w.files {
		if !record.Terminal(f.Status) {
			return false
		}
		maxRev = max(maxRev, w.revs[id])
	}
	return w.report.Basis >= maxRev
}

func (w *caseWatch) counts() (done, total int, note string) {
	var notes []string
	for _, f := range w.files {
		total++
		if record.Terminal(f.Status) {
			done++
		} else if f.Progress != nil && f.Progress.Total > 0 {
			notes = append(notes, fmt.Sprintf("%s %d/%d %s", f.Stage, f.Progress.Done, f.Progress.Total, f.Progress.Unit))
		}
	}
	sort.Strings(notes)
	if len(notes) > 3 {
		notes = append(notes[:3], "…")
	}
	return done, total, strings.Join(notes, ", ")
}

func describe(f fileEvent) string {
	switch {
	case f.Status == record.StatusFailed && f.Error != nil:
		return f.Error.Code + ": " + f.Error.Message
	case f.Pages > 0:
		s := fmt.Sprintf("%d pages", f.Pages)
		if f.OCRPages > 0 {
			s += fmt.Sprintf(", %d OCRed", f.OCRPages)
		}
		return s
	}
	return f.Stage
}

func runWait(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cf := clientCommand("wait", "usage: handoff wait [flags] CASE_ID\n\nFollows a case's processing live until every file is processed and the\nchecklist is up to date, then prints the checklist.\nExit status: 0 nothing is wrong, 1 the checklist has error-level findings\n(or waiting failed), 2 usage.", stderr)
	timeout := fs.Duration("timeout", 30*time.Minute, "give up after this long")
	format := fs.String("format", "text", "the checklist at the end: text or json")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || !record.ValidID(pos[0]) {
		fs.Usage()
		return usageError{"wait takes one CASE_ID"}
	}
	if *format != "text" && *format != "json" {
		return usageError{"--format is text or json"}
	}
	a, err := cf.client()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	w, err := watchCase(ctx, a, pos[0], stderr)
	if err != nil {
		return err
	}
	done, total, _ := w.counts()
	fmt.Fprintf(stderr, "%d of %d files processed in %s\n", done, total, time.Since(w.started).Round(time.Second))
	r, err := printReport(ctx, a, pos[0], *format, stdout)
	if err != nil {
		return err
	}
	if r.HasErrors() {
		return errNotReady
	}
	return nil
}

// watchCase reads the case's event stream until the case is idle,
// reconnecting when the stream drops.
func watchCase(ctx context.Context, a *apiClient, caseID string, out io.Writer) (*caseWatch, error) {
	w := &caseWatch{files: map[string]fileEvent{}, revs: map[string]uint64{}, started: time.Now()}
	tty := isTerminal(out)
	last := ""
	show := func() {
		done, total, note := w.counts()
		line := fmt.Sprintf("%d of %d files processed", done, total)
		if note != "" {
			line += " (" + note + ")"
		}
		if tty {
			fmt.Fprintf(out, "\r\x1b[K%s", line)
		} else if line != last {
			fmt.Fprintln(out, line)
		}
		last = line
	}
	defer func() {
		if tty {
			fmt.Fprintln(out)
		}
	}()
	for {
		err := a.stream(ctx, "/v1/cases/"+caseID+"/events", func(name string, id uint64, data []byte) bool {
			switch name {
			case "file":
				var f fileEvent
				if json.Unmarshal(data, &f) != nil {
					return true
				}
				prev, seen := w.files[f.ID]
				w.files[f.ID], w.revs[f.ID] = f, id
				if record.Terminal(f.Status) && (!seen || !record.Terminal(prev.Status)) {
					if tty {
						fmt.Fprintf(out, "\r\x1b[K")
					}
					fmt.Fprintf(out, "%-8s %s (%s)\n", f.Status, f.Path, describe(f))
				}
			case "report":
				var r record.Report
				if json.Unmarshal(data, &r) == nil {
					w.report = &r
				}
			}
			show()
			return !w.idle()
		})
		if w.idle() {
			return w, nil
		}
		var ae *apiError
		if errors.As(err, &ae) || ctx.Err() != nil {
			if ctx.Err() != nil {
				return w, fmt.Errorf("the case was not idle in time: %w", ctx.Err())
			}
			return w, err
		}
		select {
		case <-ctx.Done():
			return w, fmt.Errorf("the case was not idle in time: %w", ctx.Err())
		case <-time.After(time.Second):
		}
	}
}

// stream reads server-sent events from path; fn returns false to stop.
func (a *apiClient) stream(ctx context.Context, path string, fn func(name string, id uint64, data []byte) bool) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	req, err := a.request(ctx, http.MethodGet, path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "text/event-stream")
	hc := *a.http
	hc.Timeout = 0
	resp, err := hc.Do(req)
	if err != nil {
		return a.netError(http.MethodGet, path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return a.problemError(resp)
	}
	return readEvents(resp.Body, fn)
}

// readEvents parses a server-sent event stream; fn returns false to stop.
func readEvents(r io.Reader, fn func(name string, id uint64, data []byte) bool) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	var name string
	var id uint64
	var data []byte
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if name != "" && len(data) > 0 && !fn(name, id, data) {
				return nil
			}
			name, id, data = "", 0, nil
		case strings.HasPrefix(line, "event: "):
			name = line[7:]
		case strings.HasPrefix(line, "id: "):
			id, _ = strconv.ParseUint(line[4:], 10, 64)
		case strings.HasPrefix(line, "data: "):
			data = append(data, line[6:]...)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("events: %w", err)
	}
	return errors.New("events: the stream ended")
}
