// Command intake benchmarks the intake path of `handoff serve` in embedded
// mode: 64 KiB uploads at concurrency 1 and 4, uploads/s and the time from
// the start of an upload to its routed work event, each against plain S3
// PUTs to the same S3 endpoint with no pipeline, measured in the same run.
//
//	go run ./intake -handoff ../bin/handoff [-n 2000] [-rounds 5] [-conc 1,4] [-v]
//
// A work item counts as routed when JetStream stored it in the WORK stream:
// the items are read back from the stream after each run, with their
// stored times, so that no subscriber takes a copy of every message while
// the clock runs. TMPDIR chooses where the serve process keeps its data;
// before measuring, the bench waits until the filesystem there allocates
// inodes at its usual speed (see settle).
package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/handoffmed/handoff/platform/blob"
	"github.com/handoffmed/handoff/platform/bus"
	"github.com/handoffmed/handoff/platform/event"
	"github.com/handoffmed/handoff/platform/record"
)

type endpoints struct {
	API  string `json:"api"`
	S3   string `json:"s3"`
	NATS string `json:"nats"`
}

type result struct {
	name      string
	conc      int
	n         int
	elapsed   time.Duration
	cpu       time.Duration   // CPU time of the serve process during the run
	latencies []time.Duration // upload start to answer (plain) or to routed work event (pipeline)
	put       []time.Duration // pipeline: the PUT alone (answered once its event is stored)
	end       time.Time       // pipeline: when the last upload was routed
}

func (r result) rate() float64 { return float64(r.n) / r.elapsed.Seconds() }

func (r result) pct(p float64) time.Duration {
	s := slices.Clone(r.latencies)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	return s[min(len(s)-1, int(float64(len(s))*p))]
}

func main() {
	bin := flag.String("handoff", "bin/handoff", "handoff binary")
	n := flag.Int("n", 1500, "uploads per run")
	size := flag.Int("size", 64<<10, "upload size in bytes")
	rounds := flag.Int("rounds", 3, "alternating rounds of plain and pipeline runs; the median round is reported")
	concs := flag.String("conc", "1,4", "concurrencies to measure, comma-separated")
	verbose = flag.Bool("v", false, "print every round, not only the median")
	flag.Parse()
	var cs []int
	for _, c := range strings.Split(*concs, ",") {
		var v int
		if _, err := fmt.Sscan(c, &v); err != nil || v < 1 {
			fmt.Fprintln(os.Stderr, "bench intake: bad -conc", *concs)
			os.Exit(2)
		}
		cs = append(cs, v)
	}
	if err := run(*bin, *n, *size, *rounds, cs); err != nil {
		fmt.Fprintln(os.Stderr, "bench intake:", err)
		os.Exit(1)
	}
}

func run(bin string, n, size, rounds int, concs []int) error {
	data, err := os.MkdirTemp("", "bench-intake-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(data)
	// Intake alone: the DICOM and OCR workers would compete for the CPU
	// with what is measured; their queues just fill.
	cmd := exec.Command(bin, "serve", "--services", "intake", "--data", data, "--http", "127.0.0.1:0", "--s3", "127.0.0.1:0",
		"--nats", "127.0.0.1:0", "--reconcile", "0", "--log-level", "warn")
	if pp := os.Getenv("BENCH_PPROF"); pp != "" {
		cmd.Args = append(cmd.Args, "--pprof", pp)
	}
	cmd.Stdout, cmd.Stderr = io.Discard, os.Stderr
	if err := cmd.Start(); err != nil {
		return err
	}
	servePID = cmd.Process.Pid
	defer func() { _ = cmd.Process.Signal(os.Interrupt); _ = cmd.Wait() }()
	ep, err := waitEndpoints(data)
	if err != nil {
		return err
	}
	create, err := settle(data)
	if err != nil {
		return err
	}
	keys, _ := os.ReadFile(filepath.Join(data, "s3-credentials"))
	acc, sec, _ := strings.Cut(strings.TrimSpace(string(keys)), ":")
	token, _ := os.ReadFile(filepath.Join(data, "api-token"))
	store, err := blob.New(blob.Config{Endpoint: ep.S3, AccessKey: acc, SecretKey: sec})
	if err != nil {
		return err
	}
	ctx := context.Background()
	nc, err := nats.Connect(ep.NATS)
	if err != nil {
		return err
	}
	defer nc.Close()
	// Routed work items are read back from the WORK stream after each run,
	// with the time JetStream stored each: no observer takes a copy of
	// every message while the clock runs (a subscriber would cost the
	// serve process a socket write per upload).
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	work, err := js.Stream(ctx, bus.StreamWork)
	if err != nil {
		return err
	}
	caseID, err := createCase(ep.API, strings.TrimSpace(string(token)))
	if err != nil {
		return err
	}
	payload := append([]byte("%PDF-1.4\n"), bytes.Repeat([]byte("0123456789abcdef"), size/16)...)[:size]

	fmt.Printf("intake path, embedded mode, %d-byte uploads, %d per run, median of %d rounds, data in %s\n", size, n, rounds, data)
	fmt.Printf("creating a file where the endpoint stages objects: %v (see settle)\n\n", create.Round(time.Microsecond))
	fmt.Println("plain: latency of the PUT (same bucket, a key prefix that is not notified). pipeline: uploads back to")
	fmt.Println("back, the clock stops when the last work item is stored; latency from the start of each PUT to then.")
	fmt.Println()
	fmt.Printf("%-28s %4s %10s %10s %10s %12s\n", "run", "conc", "uploads/s", "p50", "p99", "cpu/upload")
	type pair struct{ plain, pipe result }
	var table [][]pair
	for _, conc := range concs {
		var rs []pair
		for r := range rounds {
			keys := make([]string, n)
			for i := range keys {
				keys[i] = record.UploadKey(caseID, fmt.Sprintf("r%d/c%d/%d.pdf", r, conc, i))
			}
			plain := measure("plain S3 PUT", conc, n, func(i int) (time.Duration, error) {
				start := time.Now()
				// The pipeline's keys under a prefix that is not notified, in
				// the same bucket: the same directory tree of the same
				// filesystem (see plainPrefix).
				_, err := store.Put(ctx, record.DefaultIntakeBucket, plainPrefix+keys[i], bytes.NewReader(payload), int64(len(payload)), blob.PutOptions{})
				return time.Since(start), err
			}, nil)
			// Clients upload back to back, as they would; the run ends when
			// the last upload is routed, so the pipeline must keep up.
			starts := make([]time.Time, n)
			putLat := make([]time.Duration, n)
			info, err := work.Info(ctx)
			if err != nil {
				return err
			}
			first := info.State.LastSeq + 1
			pipe := measure("pipeline S3 PUT -> routed", conc, n, func(i int) (time.Duration, error) {
				starts[i] = time.Now()
				_, err := store.Put(ctx, record.DefaultIntakeBucket, keys[i], bytes.NewReader(payload), int64(len(payload)), blob.PutOptions{})
				putLat[i] = time.Since(starts[i])
				return 0, err
			}, func(res *result) error {
				// The clock stops when the last work item was stored.
				last, err := waitRouted(ctx, work, first+uint64(n)-1)
				res.end = last
				return err
			})
			if err := routedLatencies(ctx, work, first, keys, starts, pipe.latencies); err != nil {
				return err
			}
			pipe.put = putLat
			rs = append(rs, pair{plain, pipe})
			if *verbose {
				fmt.Fprintf(os.Stderr, "round %d conc %d: plain %.0f/s cpu %v, pipeline %.0f/s cpu %v, ratio %.3fx\n", r, conc,
					plain.rate(), (plain.cpu / time.Duration(n)).Round(10*time.Microsecond),
					pipe.rate(), (pipe.cpu / time.Duration(n)).Round(10*time.Microsecond), pipe.rate()/plain.rate())
			}
		}
		table = append(table, rs)
	}
	for _, rs := range table {
		slices.SortFunc(rs, func(a, b pair) int { return cmpFloat(a.pipe.rate()/a.plain.rate(), b.pipe.rate()/b.plain.rate()) })
		m := rs[len(rs)/2]
		for _, r := range []result{m.plain, m.pipe} {
			fmt.Printf("%-28s %4d %10.0f %10s %10s %12s\n", r.name, r.conc, r.rate(), r.pct(0.5).Round(10*time.Microsecond),
				r.pct(0.99).Round(10*time.Microsecond), (r.cpu / time.Duration(r.n)).Round(10*time.Microsecond))
		}
		put := result{latencies: m.pipe.put}
		fmt.Printf("%-28s %4d %10s %10s %10s\n", "  of which the PUT itself", m.pipe.conc, "", put.pct(0.5).Round(10*time.Microsecond), put.pct(0.99).Round(10*time.Microsecond))
		fmt.Printf("%-28s %4d %9.3fx %9.2fx %9.2fx %11.2fx   (pipeline / plain)\n\n", "ratio", m.pipe.conc,
			m.pipe.rate()/m.plain.rate(), ratio(m.pipe.pct(0.5), m.plain.pct(0.5)), ratio(m.pipe.pct(0.99), m.plain.pct(0.99)), ratio(m.pipe.cpu, m.plain.cpu))
	}
	return nil
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func ratio(a, b time.Duration) float64 { return float64(a) / float64(b) }

// measure runs op n times at concurrency conc; finish, when set, waits for
// what the uploads started and fills in their latencies before the clock stops.
func measure(name string, conc, n int, op func(i int) (time.Duration, error), finish func(*result) error) result {
	// Each run starts with the previous run's writes on disk, not in the
	// page cache waiting for a writeback that would land in this run.
	syscall.Sync()
	time.Sleep(200 * time.Millisecond)
	cpu0 := procCPU(servePID)
	profile(name, conc)
	var next atomic.Int64
	lat := make([]time.Duration, n)
	var wg sync.WaitGroup
	var firstErr atomic.Value
	start := time.Now()
	for range conc {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				d, err := op(i)
				if err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
				lat[i] = d
			}
		})
	}
	wg.Wait()
	if err, _ := firstErr.Load().(error); err != nil {
		fmt.Fprintln(os.Stderr, name, err)
		os.Exit(1)
	}
	res := result{name: name, conc: conc, n: n, latencies: lat}
	if finish != nil {
		if err := finish(&res); err != nil {
			fmt.Fprintln(os.Stderr, name, err)
			os.Exit(1)
		}
	}
	res.cpu = procCPU(servePID) - cpu0
	res.elapsed = time.Since(start)
	if !res.end.IsZero() {
		res.elapsed = res.end.Sub(start)
	}
	return res
}

// plainPrefix starts the keys of the plain PUTs. The embedded endpoint
// notifies keys under record.UploadsPrefix only (as MinIO's prefix filter
// does in deploy/compose.yaml), so these PUTs are stored and answered with
// no event and no pipeline. They go to the intake bucket itself: the
// posix backend stages every object in a per-bucket directory, and on ext4
// the cost of allocating a file's inode depends on the history of its
// directory's block group (recently deleted inodes are skipped one by one
// on filesystems without a journal), which must not differ between the
// two kinds of PUT.
const plainPrefix = "bench-plain/"

// verbose prints every round.
var verbose *bool

// profile fetches a CPU profile of the serve process's first seconds of a
// run when BENCH_PPROF (serve's --pprof address) and BENCH_PROFILES (a
// directory) are set: compare the pipeline's with the plain PUTs' with
// go tool pprof -diff_base.
func profile(name string, conc int) {
	addr, dir := os.Getenv("BENCH_PPROF"), os.Getenv("BENCH_PROFILES")
	if addr == "" || dir == "" {
		return
	}
	path := filepath.Join(dir, fmt.Sprintf("%s-c%d-%d.prof", strings.Fields(name)[0], conc, time.Now().UnixNano()))
	go func() {
		secs := cmp.Or(os.Getenv("BENCH_PROFILE_SECONDS"), "2")
		resp, err := http.Get("http://" + addr + "/debug/pprof/profile?seconds=" + secs)
		if err != nil {
			fmt.Fprintln(os.Stderr, "profile:", err)
			return
		}
		defer resp.Body.Close()
		f, err := os.Create(path)
		if err != nil {
			fmt.Fprintln(os.Stderr, "profile:", err)
			return
		}
		defer f.Close()
		_, _ = io.Copy(f, resp.Body)
	}()
}

// servePID is the handoff serve process whose CPU time is measured.
var servePID int

// procCPU is a process's CPU time so far (user + system), from /proc.
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command name, which is in parentheses.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	if len(f) < 13 {
		return 0
	}
	var ut, st int64
	fmt.Sscan(f[11], &ut)
	fmt.Sscan(f[12], &st)
	return time.Duration(ut+st) * time.Second / 100 // USER_HZ
}

// waitRouted waits until the WORK stream holds the work item of sequence
// last, and returns when JetStream stored it.
func waitRouted(ctx context.Context, work jetstream.Stream, last uint64) (time.Time, error) {
	deadline := time.Now().Add(60 * time.Second)
	for {
		info, err := work.Info(ctx)
		if err != nil {
			return time.Time{}, err
		}
		if info.State.LastSeq >= last {
			m, err := work.GetMsg(ctx, last)
			if err != nil {
				return time.Time{}, err
			}
			return m.Time, nil
		}
		if time.Now().After(deadline) {
			return time.Time{}, fmt.Errorf("%d uploads were never routed", last-info.State.LastSeq)
		}
		time.Sleep(time.Millisecond)
	}
}

// routedLatencies reads the work items of the uploads of keys from
// sequence first and sets lat[i] to the time from the start of upload i to
// when its work item was stored.
func routedLatencies(ctx context.Context, work jetstream.Stream, first uint64, keys []string, starts []time.Time, lat []time.Duration) error {
	at := make(map[string]time.Time, len(keys))
	for seq := first; seq < first+uint64(len(keys)); seq++ {
		m, err := work.GetMsg(ctx, seq)
		if err != nil {
			return fmt.Errorf("work item %d: %w", seq, err)
		}
		var w event.FileWork
		if err := json.Unmarshal(m.Data, &w); err != nil {
			return fmt.Errorf("work item %d: %w", seq, err)
		}
		at[w.Key] = m.Time
	}
	for i, key := range keys {
		t, ok := at[key]
		if !ok {
			return fmt.Errorf("upload %d was not routed", i)
		}
		lat[i] = t.Sub(starts[i])
	}
	return nil
}

func waitEndpoints(dir string) (endpoints, error) {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if b, err := os.ReadFile(filepath.Join(dir, "endpoints.json")); err == nil {
			var ep endpoints
			if json.Unmarshal(b, &ep) == nil {
				return ep, nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return endpoints{}, fmt.Errorf("handoff serve did not start")
}

func createCase(api, token string) (string, error) {
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, api+"/v1/cases", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var c struct{ ID string }
	if err := json.NewDecoder(resp.Body).Decode(&c); err != nil || c.ID == "" {
		return "", fmt.Errorf("create case: %d %v", resp.StatusCode, err)
	}
	return c.ID, nil
}
