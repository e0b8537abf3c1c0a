package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/handoffmed/handoff/platform/blob"
	"github.com/handoffmed/handoff/platform/bus"
	"github.com/handoffmed/handoff/platform/casestore"
	"github.com/handoffmed/handoff/platform/record"
)

const (
	accessKey = "scalebench"
	secretKey = "scalebench-secret-key"
	apiToken  = "scalebench-api-token-0123456789"
)

// bench is the running pipeline: NATS, S3, intake and the packager.
type bench struct {
	dir    string
	o      options
	env    []string
	procs  []*proc // nats-server, versitygw, intake+packager
	others *proc
	api    string
	nc     *nats.Conn
	blobs  *blob.Store
	cases  *casestore.Store
}

func setUp(ctx context.Context, dir string, o options) (*bench, error) {
	b := &bench{dir: dir, o: o}
	natsAddr, s3Addr := freeAddr(), freeAddr()
	natsURL, s3URL := "nats://"+natsAddr, "http://"+s3Addr
	b.env = []string{"HANDOFF_NATS_URL=" + natsURL, "HANDOFF_S3_ENDPOINT=" + s3URL,
		"HANDOFF_S3_ACCESS_KEY=" + accessKey, "HANDOFF_S3_SECRET_KEY=" + secretKey, "HANDOFF_API_TOKEN=" + apiToken,
		"HANDOFF_LOG_LEVEL=warn", "OMP_THREAD_LIMIT=1", "MALLOC_ARENA_MAX=2"}
	host, port, err := net.SplitHostPort(natsAddr)
	if err != nil {
		return nil, err
	}
	n, err := start(dir, "nats-server", nil, "nats-server", "-js", "-sd", filepath.Join(dir, "nats"), "-a", host, "-p", port)
	if err != nil {
		return nil, err
	}
	b.procs = append(b.procs, n)
	for _, d := range []string{"s3/meta", "s3/objects"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o750); err != nil {
			return b, err
		}
	}
	s3, err := start(dir, "versitygw", []string{"ROOT_ACCESS_KEY=" + accessKey, "ROOT_SECRET_KEY=" + secretKey}, "versitygw",
		"--port", s3Addr, "--quiet", "--event-nats-url", natsURL, "--event-nats-topic", "handoff.bucket.events",
		"posix", "--sidecar", filepath.Join(dir, "s3/meta"), filepath.Join(dir, "s3/objects"))
	if err != nil {
		return b, err
	}
	b.procs = append(b.procs, s3)
	if err := waitPort(natsAddr); err != nil {
		return b, err
	}
	if err := waitPort(s3Addr); err != nil {
		return b, err
	}
	httpAddr := freeAddr()
	b.others, err = start(dir, "intake-packager", b.env, filepath.Join(o.bin, "handoff"), "serve", "--services", "intake,packager",
		"--data", filepath.Join(dir, "serve"), "--http", httpAddr, "--log-format", "json")
	if err != nil {
		return b, err
	}
	b.others.http, b.api = httpAddr, "http://"+httpAddr
	b.procs = append(b.procs, b.others)
	if err := b.others.ready(ctx); err != nil {
		return b, err
	}
	if b.nc, err = bus.Connect(ctx, bus.ConnectOptions{URL: natsURL, Name: "scale-bench"}, nil); err != nil {
		return b, err
	}
	js, err := jetstream.New(b.nc)
	if err != nil {
		return b, err
	}
	if b.cases, err = casestore.Open(ctx, js, casestore.Options{}); err != nil {
		return b, err
	}
	b.blobs, err = blob.New(blob.Config{Endpoint: s3URL, AccessKey: accessKey, SecretKey: secretKey})
	return b, err
}

func (b *bench) close() {
	if b.nc != nil {
		b.nc.Close()
	}
	for i := len(b.procs) - 1; i >= 0; i-- {
		b.procs[i].stop()
	}
}

// workers starts n processes of a worker binary and waits until each is ready.
func (b *bench) workers(ctx context.Context, kind string, n int, args ...string) ([]*proc, error) {
	var ps []*proc
	for i := range n {
		addr := freeAddr()
		p, err := start(b.dir, fmt.Sprintf("%s-%d-of-%d", kind, i+1, n), b.env, filepath.Join(b.o.bin, kind), append([]string{"--http", addr}, args...)...)
		if err != nil {
			return ps, err
		}
		p.http = addr
		ps = append(ps, p)
	}
	for _, p := range ps {
		if err := p.ready(ctx); err != nil {
			return ps, err
		}
	}
	return ps, nil
}

// row is one line of the table.
type row struct {
	what    string
	procs   int
	units   int
	unit    string
	wall    float64 // seconds; 0: not a throughput figure
	cpu     float64 // CPU-seconds of the processes doing the work
	peakRSS float64 // MiB, the largest process
	extra   string
	scales  bool // a run of a worker kind with 1, 2, 3 processes
}

func (r *row) add(o row) {
	r.what, r.unit, r.procs = o.what, o.unit, o.procs
	r.units += o.units
	r.cpu += o.cpu
	r.peakRSS = max(r.peakRSS, o.peakRSS)
}

func printRows(w io.Writer, rows []row) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "work\tprocesses\tunits\twall s\tunits/s\tvs 1 process\tCPU s\tCPU s/unit\tpeak RSS MiB\t\tnote")
	base := map[string]float64{}
	for _, r := range rows {
		rate, speedup := "-", "-"
		if r.wall > 0 {
			u := float64(r.units) / r.wall
			rate = fmt.Sprintf("%.2f", u)
			if r.procs == 1 {
				base[r.what] = u
			}
			if b := base[r.what]; b > 0 && r.scales {
				speedup = fmt.Sprintf("%.2fx", u/b)
			}
		}
		wall := "-"
		if r.wall > 0 {
			wall = fmt.Sprintf("%.1f", r.wall)
		}
		fmt.Fprintf(tw, "%s\t%d\t%d %s\t%s\t%s\t%s\t%.1f\t%.4f\t%.0f\t\t%s\n", r.what, r.procs, r.units, r.unit, wall, rate, speedup,
			r.cpu, r.cpu/float64(max(r.units, 1)), r.peakRSS, r.extra)
	}
	_ = tw.Flush()
}

// ocrRun: n OCR processes, up and idle; one scanned document of pages pages
// uploaded; the clock runs from the upload to the document done.
func (b *bench) ocrRun(ctx context.Context, n int, scan string, pages int) (row, string, error) {
	ps, err := b.workers(ctx, "ocr", n, "--workers", "1", "--work-dir", b.dir)
	defer stopAll(ps)
	if err != nil {
		return row{}, "", err
	}
	caseID := record.NewCaseID()
	data, err := os.ReadFile(scan)
	if err != nil {
		return row{}, "", err
	}
	// The processes are idle until the upload: their start (models
	// loaded) is left out of the cost.
	idle, err := cpus(ps)
	if err != nil {
		return row{}, "", err
	}
	t0 := time.Now()
	if err := b.put(ctx, caseID, "scans/report.pdf", data); err != nil {
		return row{}, "", err
	}
	if _, err := b.waitDone(ctx, caseID, 1, 15*time.Minute); err != nil {
		return row{}, "", err
	}
	wall := time.Since(t0).Seconds()
	busy, err := cpus(ps)
	if err != nil {
		return row{}, "", err
	}
	var cpu, rss float64
	var each []string
	for i, p := range ps {
		cpu += busy[i] - idle[i]
		rss = max(rss, p.peakRSS())
		each = append(each, fmt.Sprintf("%.1f", busy[i]-idle[i]))
	}
	return row{what: "ocr", procs: n, units: pages, unit: "pages", wall: wall, cpu: cpu, peakRSS: rss, scales: true,
		extra: "CPU s by process: " + strings.Join(each, " + ")}, caseID, nil
}

// cpus reads every process's CPU seconds.
func cpus(ps []*proc) ([]float64, error) {
	out := make([]float64, len(ps))
	for i, p := range ps {
		c, err := p.cpu()
		if err != nil {
			return nil, err
		}
		out[i] = c
	}
	return out, nil
}

// dicomRun: the instances uploaded while no DICOM worker runs (intake
// routes them), then n DICOM processes started; the rate runs from the
// first instance done to the last. The second row is intake's cost per
// uploaded file over the whole run (routing and every checklist update).
func (b *bench) dicomRun(ctx context.Context, n int, instances []string) (row, row, string, error) {
	caseID := record.NewCaseID()
	others0, err := b.others.cpu()
	if err != nil {
		return row{}, row{}, "", err
	}
	if err := b.putAll(ctx, caseID, instances); err != nil {
		return row{}, row{}, "", err
	}
	if err := b.waitRouted(ctx, caseID, len(instances)); err != nil {
		return row{}, row{}, "", err
	}
	ps, err := b.workers(ctx, "dicom", n, "--workers", "4")
	defer stopAll(ps)
	if err != nil {
		return row{}, row{}, "", err
	}
	files, err := b.waitDone(ctx, caseID, len(instances), 15*time.Minute)
	if err != nil {
		return row{}, row{}, "", err
	}
	var first, last time.Time
	for _, f := range files {
		if first.IsZero() || f.Updated.Before(first) {
			first = f.Updated
		}
		if f.Updated.After(last) {
			last = f.Updated
		}
	}
	busy, err := cpus(ps)
	if err != nil {
		return row{}, row{}, "", err
	}
	var cpu, rss float64
	var each []string
	for i, p := range ps {
		cpu += busy[i]
		rss = max(rss, p.peakRSS())
		each = append(each, fmt.Sprintf("%.1f", busy[i]))
	}
	others1, err := b.others.cpu()
	if err != nil {
		return row{}, row{}, "", err
	}
	r := row{what: "dicom", procs: n, units: len(instances), unit: "instances", wall: last.Sub(first).Seconds(), cpu: cpu, peakRSS: rss, scales: true,
		extra: "CPU s by process: " + strings.Join(each, " + ") + " (from start)"}
	in := row{what: "intake", procs: 1, units: len(instances), unit: "files", cpu: others1 - others0, peakRSS: b.others.peakRSS(),
		extra: "(intake+packager process)"}
	return r, in, caseID, nil
}

// bundleRun asks for the cases' bundles one after the other and measures
// the intake+packager process's CPU over it.
func (b *bench) bundleRun(ctx context.Context, what string, cases []string) (row, error) {
	cpu0, err := b.others.cpu()
	if err != nil {
		return row{}, err
	}
	t0 := time.Now()
	var bytes int64
	for _, id := range cases {
		if err := b.apiDo(ctx, http.MethodPost, "/v1/cases/"+id+"/bundle", nil); err != nil {
			return row{}, err
		}
		deadline := time.Now().Add(15 * time.Minute)
		for {
			var v struct {
				Bundles []record.Bundle `json:"bundles"`
			}
			if err := b.apiDo(ctx, http.MethodGet, "/v1/cases/"+id, &v); err != nil {
				return row{}, err
			}
			if len(v.Bundles) > 0 {
				bytes += v.Bundles[0].Size
				break
			}
			if time.Now().After(deadline) {
				return row{}, fmt.Errorf("bundle of %s: %w", id, errTimeout)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	cpu1, err := b.others.cpu()
	if err != nil {
		return row{}, err
	}
	return row{what: what, procs: 1, units: len(cases), unit: "bundles", wall: time.Since(t0).Seconds(), cpu: cpu1 - cpu0,
		peakRSS: b.others.peakRSS(), extra: fmt.Sprintf("%.1f MB a bundle (intake+packager process)", float64(bytes)/float64(len(cases))/1e6)}, nil
}

func (b *bench) apiDo(ctx context.Context, method, path string, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, b.api+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+apiToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %s", method, path, resp.Status)
	}
	if out == nil {
		return nil
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// put uploads straight to the intake bucket, as MinIO clients do: the
// bucket notification brings it to intake.
func (b *bench) put(ctx context.Context, caseID, path string, data []byte) error {
	_, err := b.blobs.Put(ctx, record.DefaultIntakeBucket, record.UploadKey(caseID, path), bytes.NewReader(data), int64(len(data)), blob.PutOptions{})
	return err
}

func (b *bench) putAll(ctx context.Context, caseID string, files []string) error {
	var wg sync.WaitGroup
	errc := make(chan error, len(files))
	sem := make(chan struct{}, 8)
	for i, f := range files {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			data, err := os.ReadFile(f)
			if err == nil {
				err = b.put(ctx, caseID, fmt.Sprintf("imaging/IM%05d", i), data)
			}
			if err != nil {
				errc <- err
			}
		})
	}
	wg.Wait()
	close(errc)
	return <-errc
}

// waitRouted waits until n files of the case are recorded and routed.
func (b *bench) waitRouted(ctx context.Context, caseID string, n int) error {
	deadline := time.Now().Add(10 * time.Minute)
	for {
		files, err := b.cases.Files(ctx, caseID)
		if err != nil {
			return err
		}
		routed := 0
		for _, f := range files {
			if f.Route != "" && f.Status != record.StatusReceived {
				routed++
			}
		}
		if routed >= n {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("case %s: %d of %d files routed: %w", caseID, routed, n, errTimeout)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// waitDone waits until n files of the case are finished and returns them.
func (b *bench) waitDone(ctx context.Context, caseID string, n int, timeout time.Duration) ([]record.File, error) {
	deadline := time.Now().Add(timeout)
	for {
		files, err := b.cases.Files(ctx, caseID)
		if err != nil {
			return nil, err
		}
		done := 0
		for _, f := range files {
			if record.Terminal(f.Status) {
				if f.Status != record.StatusDone {
					return nil, fmt.Errorf("case %s: file %s %s: %+v", caseID, f.ID, f.Status, f.Error)
				}
				done++
			}
		}
		if done >= n {
			return files, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("case %s: %d of %d files done: %w", caseID, done, n, errTimeout)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func stopAll(ps []*proc) {
	for _, p := range ps {
		p.stop()
	}
}

// scannedPDF builds the scanned document with bench/ocr/make_scanned.sh.
func scannedPDF(dir string, pages int) (string, error) {
	out := filepath.Join(dir, "scan.pdf")
	cmd := exec.Command("bench/ocr/make_scanned.sh", out, fmt.Sprint(pages))
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("make_scanned.sh: %w: %s", err, msg)
	}
	return out, nil
}

// smallestInstances picks the n smallest files of the DICOM corpus
// (generated with bench/dicomgen when absent): header-only indexing reads
// the same few KiB of a large instance, and small ones upload fast.
func smallestInstances(dir string, n int) ([]string, error) {
	if _, err := os.Stat(dir); err != nil {
		cmd := exec.Command("go", "run", "./bench/dicomgen", "-out", dir)
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			return nil, fmt.Errorf("dicomgen: %w", err)
		}
	}
	type sized struct {
		path string
		size int64
	}
	var all []sized
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		all = append(all, sized{p, info.Size()})
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(all) < n {
		return nil, fmt.Errorf("%s has %d files, want %d", dir, len(all), n)
	}
	slices.SortFunc(all, func(a, b sized) int { return int(a.size - b.size) })
	out := make([]string, n)
	for i := range out {
		out[i] = all[i].path
	}
	return out, nil
}

// printStorage prints what JetStream keeps per uploaded file: the bytes of
// each stream (and the case store's KV bucket) over the files of every run.
func (b *bench) printStorage(ctx context.Context, w io.Writer) error {
	js, err := jetstream.New(b.nc)
	if err != nil {
		return err
	}
	var files int
	keys, err := b.cases.KV().ListKeys(ctx)
	if err != nil {
		return err
	}
	for k := range keys.Keys() {
		if strings.HasPrefix(k, "file.") {
			files++
		}
	}
	fmt.Fprintf(w, "\nJetStream storage after the runs (%d files recorded), one replica:\n", files)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "stream\tmessages\tbytes\tbytes/file\t")
	for _, name := range []string{bus.StreamBucket, bus.StreamWork, bus.StreamEvents, bus.StreamDeadLetter, "KV_" + casestore.DefaultBucket, "KV_handoff-ocr"} {
		st, err := js.Stream(ctx, name)
		if err != nil {
			continue
		}
		info := st.CachedInfo()
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.0f\t\n", name, info.State.Msgs, info.State.Bytes, float64(info.State.Bytes)/float64(max(files, 1)))
	}
	return tw.Flush()
}
