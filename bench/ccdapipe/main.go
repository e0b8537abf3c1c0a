// Command ccdapipe benchmarks a portal export through the whole pipeline:
// `handoff serve` in embedded mode (NATS with JetStream, S3, every
// service), a case, and the upload of a ~10 MB C-CDA (the Cerner referral
// summary of testdata/corpus with its result entries repeated, each repeat
// a day earlier: thousands of dated results) timed from the start of the
// upload to the final report: nothing pending, the C-CDA's aspirin flagged
// (meds.anticoagulant) and its medication list counted (no meds.missing).
// Each run is a new case. Target: under 1 s.
//
//	go run ./ccdapipe -handoff ../bin/handoff -repo .. -runs 5
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/handoffmed/handoff/bench/internal/serveapi"
)

const target = time.Second

func main() {
	bin := flag.String("handoff", "bin/handoff", "handoff binary")
	root := flag.String("repo", "..", "repository root (for testdata/corpus)")
	runs := flag.Int("runs", 5, "uploads to measure, one case each")
	size := flag.Int("size", 10<<20, "size of the C-CDA in bytes (at least)")
	pprof := flag.String("pprof", "", "serve Go profiling endpoints of handoff serve on this address")
	flag.Parse()
	if err := run(*bin, *root, *runs, *size, *pprof); err != nil {
		fmt.Fprintln(os.Stderr, "bench/ccdapipe:", err)
		os.Exit(1)
	}
}

// bigCCDA repeats the results section's entries of the Cerner referral
// summary until the document is size bytes, each repeat dated one day
// before the last.
func bigCCDA(root string, size int) ([]byte, int, error) {
	doc, err := os.ReadFile(filepath.Join(root, "testdata/corpus/ccda-peer/Cerner/Transition_of_Care_Referral_Summary.xml"))
	if err != nil {
		return nil, 0, err
	}
	s := string(doc)
	sec := strings.Index(s, `<code code="30954-2"`)
	first := strings.Index(s[sec:], "<entry") + sec
	end := strings.Index(s[first:], "</section>") + first
	if sec < 0 || first < sec || end < first {
		return nil, 0, errors.New("no results section")
	}
	entries := s[first:end]
	var b strings.Builder
	b.WriteString(s[:end])
	day := time.Date(2013, 7, 10, 0, 0, 0, 0, time.UTC)
	n := 0
	for b.Len() < size {
		day = day.AddDate(0, 0, -1)
		b.WriteString(strings.ReplaceAll(entries, "20130710", day.Format("20060102")))
		n++
	}
	b.WriteString(s[end:])
	return []byte(b.String()), n, nil
}

type client = serveapi.Client

type report struct {
	Pending  int `json:"pending"`
	Findings []struct {
		Code string `json:"code"`
	} `json:"findings"`
	Facts *struct {
		Labs []json.RawMessage `json:"labs"`
	} `json:"facts"`
}

func (r report) codes() []string {
	var out []string
	for _, f := range r.Findings {
		out = append(out, f.Code)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func run(bin, root string, runs, size int, pprof string) error {
	doc, repeats, err := bigCCDA(root, size)
	if err != nil {
		return err
	}
	data, err := os.MkdirTemp("", "bench-ccdapipe-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(data)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	var logs bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, "serve", "--data", data, "--http", "127.0.0.1:0", "--s3", "127.0.0.1:0",
		"--nats", "127.0.0.1:0", "--log-level", "warn", "--reconcile", "0", "--quiet-period", "-1s")
	if pprof != "" {
		cmd.Args = append(cmd.Args, "--pprof", pprof)
	}
	cmd.Stdout, cmd.Stderr = io.Discard, &logs
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
	}()
	c, err := serveapi.WaitServe(ctx, data)
	if err != nil {
		return fmt.Errorf("%w\n%s", err, logs.String())
	}
	var total, after, cpu []time.Duration
	var labs int
	for i := range runs {
		c0 := cpuOf(cmd.Process.Pid)
		t, a, n, err := measure(ctx, c, doc)
		if err != nil {
			return fmt.Errorf("run %d: %w\n%s", i+1, err, logs.String())
		}
		total, after, labs = append(total, t), append(after, a), n
		cpu = append(cpu, cpuOf(cmd.Process.Pid)-c0)
	}
	slices.Sort(cpu)
	slices.Sort(total)
	slices.Sort(after)
	load, _ := os.ReadFile("/proc/loadavg")
	fmt.Printf("C-CDA: %d bytes (Cerner referral summary, results repeated %d times), %d dated results in the report's facts; %d runs, %d CPUs, load %s\n",
		len(doc), repeats, labs, runs, runtime.NumCPU(), strings.Join(strings.Fields(string(load))[:3], " "))
	fmt.Printf("%-46s %8s %8s %8s %10s\n", "measure", "min_s", "median_s", "max_s", "vs_target")
	for _, m := range []struct {
		name string
		lat  []time.Duration
	}{{"upload start -> final report (serve, embedded)", total}, {"upload answered -> final report", after}} {
		med := m.lat[len(m.lat)/2]
		fmt.Printf("%-46s %8.3f %8.3f %8.3f %9.2fx\n", m.name, m.lat[0].Seconds(), med.Seconds(), m.lat[len(m.lat)-1].Seconds(), med.Seconds()/target.Seconds())
	}
	fmt.Printf("%-46s %8.3f %8.3f %8.3f\n", "CPU of handoff serve per upload (user+system)", cpu[0].Seconds(), cpu[len(cpu)/2].Seconds(), cpu[len(cpu)-1].Seconds())
	fmt.Printf("target: %.1f s (ratio < 1 meets it)\n", target.Seconds())
	return nil
}

// cpuOf is the CPU time a process used so far (/proc/PID/stat utime+stime).
func cpuOf(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(f) < 13 {
		return 0
	}
	var ut, st int64
	fmt.Sscan(f[11], &ut)
	fmt.Sscan(f[12], &st)
	return time.Duration(ut+st) * 10 * time.Millisecond // USER_HZ is 100 on Linux
}

// measure makes a case, uploads the C-CDA and polls its report until it is
// final: nothing pending, the C-CDA read (its aspirin flagged, its
// medication list counted).
func measure(ctx context.Context, c client, doc []byte) (total, after time.Duration, labs int, err error) {
	var created struct {
		ID string `json:"id"`
	}
	fields := []byte(`{"patient":{"family_name":"Williamson","given_name":"Steve","birth_date":"1947-04-07"},"reference_date":"2013-08-01"}`)
	if code, err := c.Do(ctx, http.MethodPost, "/v1/cases", fields, &created); err != nil || code != http.StatusCreated {
		return 0, 0, 0, fmt.Errorf("create case: %d %v", code, err)
	}
	t0 := time.Now()
	if code, err := c.Do(ctx, http.MethodPut, "/v1/cases/"+created.ID+"/files/Downloads/Referral_Summary.xml", doc, nil); err != nil || code != http.StatusCreated {
		return 0, 0, 0, fmt.Errorf("upload: %d %v", code, err)
	}
	t1 := time.Now()
	deadline := t0.Add(2 * time.Minute)
	var last report
	// Poll the (small) case view until the upload is processed, then the
	// report: polling a report of thousands of results every few
	// milliseconds would load the pipeline it measures.
	for time.Now().Before(deadline) {
		var v struct {
			Pending int `json:"pending"`
			Files   []struct {
				Status string `json:"status"`
			} `json:"files"`
		}
		if code, err := c.Do(ctx, http.MethodGet, "/v1/cases/"+created.ID, nil, &v); err != nil {
			return 0, 0, 0, err
		} else if code == http.StatusOK && v.Pending == 0 && len(v.Files) == 1 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	for time.Now().Before(deadline) {
		var r report
		code, err := c.Do(ctx, http.MethodGet, "/v1/cases/"+created.ID+"/report?format=json", nil, &r)
		if err != nil {
			return 0, 0, 0, err
		}
		if code == http.StatusOK {
			last = r
			codes := r.codes()
			if r.Pending == 0 && slices.Contains(codes, "meds.anticoagulant") && !slices.Contains(codes, "meds.missing") {
				now := time.Now()
				if r.Facts != nil {
					labs = len(r.Facts.Labs)
				}
				return now.Sub(t0), now.Sub(t1), labs, nil
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	return 0, 0, 0, fmt.Errorf("no final report in 2 minutes; last: pending %d, codes %v", last.Pending, last.codes())
}
