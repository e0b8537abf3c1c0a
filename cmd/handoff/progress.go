package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// isTerminal reports whether w is a terminal (progress bars) rather than a
// pipe or file (plain lines).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

func termWidth(w io.Writer) int {
	if f, ok := w.(*os.File); ok {
		if ws, err := unix.IoctlGetWinsize(int(f.Fd()), unix.TIOCGWINSZ); err == nil && ws.Col >= 40 {
			return int(ws.Col)
		}
	}
	return 80
}

// task is one transfer a progress display follows.
type task struct {
	name  string
	total int64
	done  int64
	state string // "", "done", "failed"
	note  string
}

// progress shows transfers: on a terminal a bar per active transfer and one
// overall, redrawn in place; elsewhere a plain line per event.
type progress struct {
	mu      sync.Mutex
	w       io.Writer
	tty     bool
	width   int
	tasks   []*task
	drawn   int // lines drawn last time
	stop    chan struct{}
	stopped chan struct{}
	start   time.Time
}

func newProgress(w io.Writer) *progress {
	p := &progress{w: w, tty: isTerminal(w), width: termWidth(w), start: time.Now()}
	if p.tty {
		p.stop, p.stopped = make(chan struct{}), make(chan struct{})
		go func() {
			defer close(p.stopped)
			t := time.NewTicker(150 * time.Millisecond)
			defer t.Stop()
			for {
				select {
				case <-p.stop:
					p.mu.Lock()
					p.draw()
					p.mu.Unlock()
					return
				case <-t.C:
					p.mu.Lock()
					p.draw()
					p.mu.Unlock()
				}
			}
		}()
	}
	return p
}

func (p *progress) add(name string, total int64) *task {
	p.mu.Lock()
	defer p.mu.Unlock()
	t := &task{name: name, total: total}
	p.tasks = append(p.tasks, t)
	return t
}

func (p *progress) advance(t *task, n int64) {
	p.mu.Lock()
	t.done += n
	p.mu.Unlock()
}

func (p *progress) set(t *task, done int64) {
	p.mu.Lock()
	t.done = done
	p.mu.Unlock()
}

// line prints a message: above the bars on a terminal.
func (p *progress) line(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	msg := fmt.Sprintf(format, args...)
	if p.tty {
		p.clear()
		fmt.Fprintln(p.w, msg)
		p.draw()
		return
	}
	fmt.Fprintln(p.w, msg)
}

func (p *progress) finish(t *task, state, note string) {
	p.mu.Lock()
	t.state, t.note = state, note
	if state == "done" {
		t.done = t.total
	}
	p.mu.Unlock()
}

// close draws the final state and stops redrawing.
func (p *progress) close() {
	if p.tty {
		close(p.stop)
		<-p.stopped
	}
}

func (p *progress) clear() {
	if p.drawn > 0 {
		fmt.Fprintf(p.w, "\x1b[%dA\x1b[J", p.drawn)
		p.drawn = 0
	}
}

func (p *progress) draw() {
	p.clear()
	var total, done int64
	finished := 0
	var active []*task
	for _, t := range p.tasks {
		total += t.total
		done += t.done
		if t.state != "" {
			finished++
		} else if t.done > 0 {
			active = append(active, t)
		}
	}
	const maxLines = 8
	if len(active) > maxLines {
		active = active[:maxLines]
	}
	var b strings.Builder
	for _, t := range active {
		b.WriteString(p.bar(t.name, t.done, t.total, ""))
		b.WriteByte('\n')
	}
	b.WriteString(p.bar(fmt.Sprintf("total: %d of %d files", finished, len(p.tasks)), done, total, rate(done, time.Since(p.start))))
	b.WriteByte('\n')
	fmt.Fprint(p.w, b.String())
	p.drawn = len(active) + 1
}

func rate(n int64, d time.Duration) string {
	if d < time.Second {
		return ""
	}
	return humanSize(int64(float64(n)/d.Seconds())) + "/s"
}

// bar is one line: name, a bar, the percentage and sizes.
func (p *progress) bar(name string, done, total int64, extra string) string {
	pct := 100.0
	if total > 0 {
		pct = float64(done) * 100 / float64(total)
	}
	tail := fmt.Sprintf(" %5.1f%% %s/%s %s", pct, humanSize(done), humanSize(total), extra)
	barW := 24
	nameW := p.width - barW - len(tail) - 4
	if nameW < 10 {
		nameW = 10
	}
	r := []rune(name)
	if len(r) > nameW {
		r = append([]rune("…"), r[len(r)-nameW+1:]...)
	}
	fill := int(pct / 100 * float64(barW))
	return fmt.Sprintf("%-*s [%s%s]%s", nameW, string(r), strings.Repeat("█", fill), strings.Repeat("░", barW-fill), strings.TrimRight(tail, " "))
}

func humanSize(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// countingReader reports what is read through it.
type countingReader struct {
	r  io.Reader
	fn func(int64)
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	if n > 0 {
		c.fn(int64(n))
	}
	return n, err
}

// status is one line of what a command waits for: redrawn in place on a
// terminal, printed when it changes otherwise.
type status struct {
	w     io.Writer
	tty   bool
	last  string
	start time.Time
}

func newStatus(w io.Writer) *status { return &status{w: w, tty: isTerminal(w), start: time.Now()} }

func (s *status) show(line string) {
	if s == nil {
		return
	}
	if s.tty {
		fmt.Fprintf(s.w, "\r\x1b[K%s (%s)", line, time.Since(s.start).Round(time.Second))
	} else if line != s.last {
		fmt.Fprintln(s.w, line)
	}
	s.last = line
}

func (s *status) done() {
	if s != nil && s.tty && s.last != "" {
		fmt.Fprintln(s.w)
	}
}
