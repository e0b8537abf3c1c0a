package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/handoffmed/handoff/cmd/handoff/internal/e2e"
	"github.com/handoffmed/handoff/platform/testenv"
)

// cutProxy is a TCP proxy in front of the S3 endpoint that counts the bytes
// clients send through it and, once armed, drops the connection that
// carries byte number cutAt (once).
type cutProxy struct {
	ln     net.Listener
	target string
	sent   atomic.Int64
	cutAt  atomic.Int64 // 0: never
	cuts   atomic.Int32
	active atomic.Int32 // connections open
	wg     sync.WaitGroup
}

// idle waits until every connection through the proxy has closed (bytes a
// client sent before it went away are still read and counted until then).
func (p *cutProxy) idle(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for p.active.Load() > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d connections still open through the proxy", p.active.Load())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func startCutProxy(t *testing.T, target string) *cutProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln, target: target}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.wg.Add(1)
			go func() { defer p.wg.Done(); p.serve(c) }()
		}
	}()
	t.Cleanup(func() { ln.Close(); p.wg.Wait() })
	return p
}

func (p *cutProxy) addr() string { return p.ln.Addr().String() }

// arm resets the count and drops one connection after n more bytes.
func (p *cutProxy) arm(n int64) { p.sent.Store(0); p.cuts.Store(0); p.cutAt.Store(n) }

func (p *cutProxy) serve(c net.Conn) {
	p.active.Add(1)
	defer p.active.Add(-1)
	defer c.Close()
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		return
	}
	defer up.Close()
	done := make(chan struct{})
	go func() { _, _ = io.Copy(c, up); c.Close(); close(done) }()
	buf := make([]byte, 64<<10)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			total := p.sent.Add(int64(n))
			if at := p.cutAt.Load(); at > 0 && total >= at && p.cuts.CompareAndSwap(0, 1) {
				// The connection drops mid-request, as a flaky network would.
				if tc, ok := c.(*net.TCPConn); ok {
					_ = tc.SetLinger(0)
				}
				up.Close()
				c.Close()
				<-done
				return
			}
			if _, werr := up.Write(buf[:n]); werr != nil {
				break
			}
		}
		if err != nil {
			break
		}
	}
	up.(*net.TCPConn).CloseWrite()
	<-done
}

// vmHWM is the peak resident memory of a process, from /proc.
func vmHWM(t *testing.T, pid int) int64 {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	t.Fatal("no VmHWM")
	return 0
}

// sparseFile makes a file of size bytes that takes no disk space.
func sparseFile(t *testing.T, name string, size int64) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	f.Close()
	return path
}

// A 1 GiB file uploaded with `handoff upload` and through the web page
// survives the connection to the object store being cut once: the parts
// already stored are not sent again (the proxy sees at most the file and
// the parts in flight at the cut), and the serving process stays under
// 128 MiB of memory throughout.
func TestUploadOneGiBSurvivesACut(t *testing.T) {
	t.Parallel()
	const size = 1 << 30
	const part = 16 << 20
	s3Port := testenv.FreePort(t)
	proxy := startCutProxy(t, fmt.Sprintf("127.0.0.1:%d", s3Port))
	p := e2e.Start(t, e2e.Options{Args: []string{"--s3", fmt.Sprintf("127.0.0.1:%d", s3Port), "--s3-public-url", "http://" + proxy.addr(), "--reconcile", "0"}})
	big := sparseFile(t, "scan-export.bin", size)
	// The parts in flight when the connection drops are sent again, no more.
	limit := int64(size + 8*part + 8<<20)

	check := func(name, caseID string) {
		t.Helper()
		v := p.WaitFor(caseID, "the 1 GiB file recorded", 2*time.Minute, func(v e2e.CaseView) bool { return len(v.Files) == 1 })
		if v.Files[0].Size != size {
			t.Errorf("%s: recorded %d bytes, want %d", name, v.Files[0].Size, size)
		}
		if proxy.cuts.Load() != 1 {
			t.Errorf("%s: the proxy cut %d connections, want 1", name, proxy.cuts.Load())
		}
		// The proxy's count is an upper bound check: a part stored by S3
		// as the interrupted run was stopped may be counted by neither run.
		if sent := proxy.sent.Load(); sent > limit {
			t.Errorf("%s: %d bytes went to S3 for a %d-byte file: parts were sent again (limit %d)", name, sent, size, limit)
		} else {
			t.Logf("%s: %d bytes sent for %d (%.1f%% resent)", name, sent, size, float64(sent-size)*100/float64(size))
		}
	}

	t.Run("cli", func(t *testing.T) {
		// Interrupted (Ctrl-C) once some parts are stored, then run again:
		// the second run continues, and survives a cut connection.
		id := p.CreateCase("")
		state := filepath.Join(t.TempDir(), "state.json")
		args := []string{"upload", id, big, "--api", p.API, "--token", p.Token, "--state", state}
		proxy.arm(0)
		first := exec.Command(e2e.Binary(t), args...)
		var out1 strings.Builder
		first.Stdout, first.Stderr = &out1, &out1
		if err := first.Start(); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(2 * time.Minute)
		for proxy.sent.Load() < 200<<20 && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		_ = first.Process.Signal(os.Interrupt)
		err := first.Wait()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !strings.Contains(out1.String(), "run the same command again") {
			t.Fatalf("the interrupted upload: %v\n%s", err, out1.String())
		}
		proxy.idle(t)
		firstSent := proxy.sent.Load()
		proxy.arm(300 << 20)
		out, err := exec.Command(e2e.Binary(t), args...).CombinedOutput()
		if err != nil {
			t.Fatalf("handoff upload again: %v\n%s", err, out)
		}
		m := regexp.MustCompile(`resuming scan-export.bin: (\d+) of 64 parts already stored`).FindSubmatch(out)
		if m == nil {
			t.Fatalf("the second run did not resume:\n%s", out)
		}
		if n, _ := strconv.Atoi(string(m[1])); n < 8 {
			t.Errorf("only %d parts were stored when %d bytes had been sent", n, firstSent)
		}
		if !strings.Contains(string(out), "retrying scan-export.bin part") {
			t.Errorf("the output does not say a part was retried:\n%s", out)
		}
		// The two runs together send the file once, plus the parts in
		// flight at the interruption and at the cut.
		proxy.sent.Add(firstSent)
		check("cli", id)
	})

	t.Run("page", func(t *testing.T) {
		b := startBrowser(t)
		ctx := b.ctx
		id := p.CreateCase(`{"patient":{"family_name":"Example"}}`)
		do(t, ctx, "sign in", chromedp.Navigate(p.API+"/"), chromedp.WaitVisible(chromedp.CSS("#token")),
			chromedp.SendKeys(chromedp.CSS("#token"), p.Token), chromedp.Click(chromedp.CSS("form button[type=submit]")),
			chromedp.WaitVisible(chromedp.CSS(`a[href="#/new"]`)),
			chromedp.Navigate(p.API+"/#/case/"+id), chromedp.WaitVisible(chromedp.CSS(`input[webkitdirectory]`)))
		proxy.arm(300 << 20)
		do(t, ctx, "choose the file", chromedp.SetUploadFiles(chromedp.CSS(`input[type=file]:not([webkitdirectory])`), []string{big}))
		poll(t, ctx, "the upload to finish", `(() => { const li = document.querySelector('.uploads li'); return li && (li.dataset.state === 'uploaded' || li.dataset.state === 'failed'); })()`, 5*time.Minute)
		if st := eval[string](t, ctx, `document.querySelector('.uploads li').dataset.state + ' ' + document.querySelector('.uploads li').innerText`); !strings.HasPrefix(st, "uploaded") {
			t.Fatalf("the page's upload: %s", st)
		}
		check("page", id)
		if errs := b.consoleErrors(); len(errs) > 0 {
			// A dropped upload is reported by the browser's network log;
			// nothing else may be.
			for _, e := range errs {
				if !strings.Contains(e, "ERR_CONNECTION_RESET") && !strings.Contains(e, "net::ERR_") {
					t.Errorf("console error: %s", e)
				}
			}
		}
	})

	if hwm := vmHWM(t, p.Serve.Cmd.Process.Pid); hwm > 128<<20 {
		t.Errorf("handoff serve peaked at %d MiB of memory, want under 128 MiB", hwm>>20)
	} else {
		t.Logf("handoff serve peaked at %d MiB", hwm>>20)
	}
}
