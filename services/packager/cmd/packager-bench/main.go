// Command packager-bench measures the packager against a plain S3 copy of
// the same objects, on the embedded S3 endpoint of `handoff serve`. Each
// step runs as its own process so that /usr/bin/time measures it alone
// (bench/packager/run.sh drives it):
//
//	packager-bench gateway -dir D -addr 127.0.0.1:0 -endpoint-file F   run the embedded S3 endpoint
//	packager-bench seed -endpoint E -corpus DIR -max-bytes N -case F    upload a case, write its records to F
//	packager-bench package -endpoint E -case F                         stream the case's bundle into S3
//	packager-bench copy -endpoint E -case F                            the plain copy: the same objects, read
//	                                                                   ahead the same way, concatenated into
//	                                                                   one multipart upload
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"math/bits"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/handoffmed/handoff/platform/blob"
	"github.com/handoffmed/handoff/platform/record"
	"github.com/handoffmed/handoff/platform/s3gw"

	"github.com/handoffmed/handoff/services/packager/internal/bundler"
	"github.com/handoffmed/handoff/services/packager/internal/layout"
	"github.com/handoffmed/handoff/services/packager/internal/render"
	"github.com/handoffmed/handoff/services/packager/internal/s3io"
	"github.com/handoffmed/handoff/services/packager/internal/zipstream"
)

const (
	accessKey = "bench"
	secretKey = "bench-secret-key"
	intake    = "bench-intake"
	derived   = "bench-derived"
	bundles   = "bench-bundles"
	copies    = "bench-copies"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:])
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "packager-bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return errors.New("usage: packager-bench gateway|seed|package|copy [flags]")
	}
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	endpoint := fs.String("endpoint", "", "S3 endpoint")
	dir := fs.String("dir", "", "gateway: data directory")
	addr := fs.String("addr", "127.0.0.1:0", "gateway: listen address")
	endpointFile := fs.String("endpoint-file", "", "gateway: write the endpoint URL here")
	corpus := fs.String("corpus", "", "seed: DICOM folder")
	pdfs := fs.String("pdfs", "", "seed: folder of PDFs to add as documents")
	maxBytes := fs.Int64("max-bytes", 1<<30, "seed: case size")
	caseFile := fs.String("case", "", "case records (JSON)")
	partSize := fs.Int64("part-size", 8<<20, "package: multipart part size")
	conc := fs.Int("upload-concurrency", 2, "package: parts uploaded at once")
	prefetch := fs.Int("prefetch", 4, "package: objects opened ahead")
	workers := fs.Int("workers", 0, "package: items prepared at once (0: GOMAXPROCS)")
	minGain := fs.Float64("min-gain", 0.10, "package: deflate when a sample shrinks by this share")
	memLimit := fs.Int64("memory-limit", 96<<20, "package, copy: Go memory limit, bytes, as cmd/packager sets it (0: none)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	switch args[0] {
	case "gateway":
		return gateway(ctx, *dir, *addr, *endpointFile)
	case "seed":
		return seed(ctx, store(*endpoint), *corpus, *pdfs, *maxBytes, *caseFile)
	case "package", "copy":
		if *memLimit > 0 {
			debug.SetMemoryLimit(*memLimit)
		}
		if *workers <= 0 {
			*workers = runtime.GOMAXPROCS(0)
		}
		s := store(*endpoint)
		up := s3io.StreamOptions{ContentType: "application/zip", PartSize: *partSize, Buffers: *conc + 1}
		if args[0] == "copy" {
			return copyAll(ctx, s, *caseFile, up, *prefetch, *workers)
		}
		return pack(ctx, s, *caseFile, up, *prefetch, *workers, *minGain)
	}
	return fmt.Errorf("unknown step %q", args[0])
}

func store(endpoint string) *blob.Store {
	s, err := blob.New(blob.Config{Endpoint: endpoint, AccessKey: accessKey, SecretKey: secretKey})
	if err != nil {
		panic(err)
	}
	return s
}

func gateway(ctx context.Context, dir, addr, endpointFile string) error {
	gw, err := s3gw.Start(ctx, s3gw.Config{Addr: addr, Dir: dir, AccessKey: accessKey, SecretKey: secretKey})
	if err != nil {
		return err
	}
	if err := os.WriteFile(endpointFile, []byte(gw.Endpoint()), 0o644); err != nil {
		return err
	}
	<-ctx.Done()
	return gw.Close()
}

// benchCase is what seed writes and package/copy read.
type benchCase struct {
	Case  record.Case       `json:"case"`
	Files []record.File     `json:"files"`
	Index record.DicomIndex `json:"index"`
}

// seed uploads DICOM files (one study per folder holding files) up to
// maxBytes, a few PDFs as documents, a stand-in DICOMDIR per study, and
// writes the records the services would have made.
func seed(ctx context.Context, s *blob.Store, corpus, pdfs string, maxBytes int64, caseFile string) error {
	if err := s.EnsureBuckets(ctx, intake, derived, bundles, copies); err != nil {
		return err
	}
	var paths []string
	err := filepath.WalkDir(corpus, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			paths = append(paths, p)
		}
		return err
	})
	if err != nil {
		return err
	}
	sort.Strings(paths)
	bc := benchCase{Case: record.Case{ID: record.NewCaseID(), Created: time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC),
		Patient: record.Patient{FamilyName: "Bench", GivenName: "Case", BirthDate: "1960-01-01"},
		Summary: record.Summary{Procedure: "Total right hip replacement"}}}
	bc.Index = record.DicomIndex{Version: 1, CaseID: bc.Case.ID}
	studies := map[string]*record.Study{}
	var order []string
	var total int64
	upload := func(p, rel string) (record.File, error) {
		f, err := os.Open(p)
		if err != nil {
			return record.File{}, err
		}
		defer f.Close()
		st, err := f.Stat()
		if err != nil {
			return record.File{}, err
		}
		key := record.UploadKey(bc.Case.ID, rel)
		info, err := s.Put(ctx, intake, key, f, st.Size(), blob.PutOptions{})
		if err != nil {
			return record.File{}, err
		}
		total += info.Size
		return record.File{CaseID: bc.Case.ID, ID: record.FileID(intake, key), Path: rel, Bucket: intake, Key: key,
			ETag: info.ETag, Size: info.Size, Status: record.StatusDone, Received: bc.Case.Created}, nil
	}
	if pdfs != "" {
		ps, _ := filepath.Glob(filepath.Join(pdfs, "*.pdf"))
		for i, p := range ps {
			if strings.Contains(p, "encrypted") {
				continue
			}
			f, err := upload(p, "docs/"+filepath.Base(p))
			if err != nil {
				return err
			}
			f.Type = record.TypePDF
			f.Document = &record.Document{Category: []string{record.CategoryLabReport, record.CategoryRadiologyReport, record.CategoryOperativeNote}[i%3],
				Date: "2026-04-0" + fmt.Sprint(1+i%9)}
			bc.Files = append(bc.Files, f)
		}
	}
	// Go round the corpus again (as another CD) until the case is big enough.
	for round := 1; total < maxBytes && len(paths) > 0; round++ {
		for _, p := range paths {
			if total >= maxBytes {
				break
			}
			rel, _ := filepath.Rel(corpus, p)
			rel = fmt.Sprintf("cd%d/%s", round, rel)
			f, err := upload(p, rel)
			if err != nil {
				return err
			}
			f.Type, f.DICOM = record.TypeDICOM, &record.DicomInstance{}
			bc.Files = append(bc.Files, f)
			dir := filepath.Dir(rel)
			st, ok := studies[dir]
			if !ok {
				folder := fmt.Sprintf("2026-04-%02d_MR_study_%d", 1+len(order)%28, len(order)+1)
				st = &record.Study{Folder: folder, UID: "1.2.826.0.1." + fmt.Sprint(len(order)+1),
					Series:  []record.Series{{UID: "s", Modality: "MR"}},
					FileSet: &record.FileSet{DICOMDIRBucket: derived, DICOMDIRKey: record.FileSetPrefix(bc.Case.ID, 1, folder) + "DICOMDIR"}}
				studies[dir] = st
				order = append(order, dir)
			}
			n := len(st.FileSet.Entries)
			st.FileSet.Entries = append(st.FileSet.Entries, record.FileSetEntry{Path: fmt.Sprintf("DICOM/ST000000/SE%06d/IM%06d", n/1000, n%1000),
				FileID: f.ID, Bucket: intake, Key: f.Key, Size: f.Size})
			st.Series[0].Instances++
		}
	}
	for _, dir := range order {
		st := studies[dir]
		// A stand-in DICOMDIR: the throughput does not depend on its content.
		dd := bytes.Repeat([]byte("DICOMDIR record "), 64*len(st.FileSet.Entries)+16)
		info, err := s.Put(ctx, derived, st.FileSet.DICOMDIRKey, bytes.NewReader(dd), int64(len(dd)), blob.PutOptions{})
		if err != nil {
			return err
		}
		st.FileSet.DICOMDIRSize = info.Size
		bc.Index.Studies = append(bc.Index.Studies, *st)
	}
	data, err := json.Marshal(bc)
	if err != nil {
		return err
	}
	fmt.Printf("seeded case %s: %d files, %d bytes, %d studies\n", bc.Case.ID, len(bc.Files), total, len(order))
	return os.WriteFile(caseFile, data, 0o644)
}

func load(caseFile string) (benchCase, error) {
	var bc benchCase
	data, err := os.ReadFile(caseFile)
	if err != nil {
		return bc, err
	}
	return bc, json.Unmarshal(data, &bc)
}

// pack makes the bundle exactly as the service does, minus NATS.
func pack(ctx context.Context, s *blob.Store, caseFile string, up s3io.StreamOptions, prefetch, workers int, minGain float64) error {
	bc, err := load(caseFile)
	if err != nil {
		return err
	}
	fonts, err := render.LoadFonts("", "", "")
	if err != nil {
		return err
	}
	start := time.Now()
	objs := s3io.Objects{Blobs: s, Op: time.Minute}
	job, err := bundler.Prepare(ctx, objs, bundler.Input{
		Input:   layout.Input{Case: bc.Case, Files: bc.Files, Index: &bc.Index, DerivedBucket: derived},
		Report:  &record.Report{CaseID: bc.Case.ID, Digest: "bench", Parts: []record.PartStatus{}, Findings: []record.Finding{}},
		Version: 1, Fonts: fonts, Prefetch: prefetch, Workers: workers,
		Zip: zipstream.Options{MinGain: minGain, NoSum: true},
	})
	if err != nil {
		return err
	}
	var in int64
	for _, it := range job.Plan().Items {
		in += it.Source.Size
	}
	var res bundler.Result
	key := record.BundleKey(bc.Case.ID, 1)
	ures, err := s3io.Stream(ctx, s.Client(), bundles, key, up, func(w io.Writer) error {
		var err error
		res, err = job.Write(ctx, objs, w)
		return err
	})
	if err != nil {
		return err
	}
	if ures.Size != res.Size {
		return fmt.Errorf("uploaded %d bytes of a %d-byte ZIP", ures.Size, res.Size)
	}
	secs := time.Since(start).Seconds()
	deflated := 0
	for _, f := range res.Manifest.Files {
		if f.Stored == "deflated" {
			deflated++
		}
	}
	fmt.Printf("package: in=%d out=%d entries=%d deflated=%d seconds=%.3f MBps=%.1f sha256=%x\n",
		in, res.Size, res.Entries, deflated, secs, float64(in)/1e6/secs, ures.SHA256)
	return nil
}

// copyAll is the plain copy the packager is measured against: it moves the
// same source objects into one object the way the packager moves them,
// minus the bundle. Objects are fetched in order with the packager's
// read-ahead (workers GETs at once, small objects read whole within a
// 32 MiB budget, prefetch objects in flight), concatenated, and uploaded
// with minio-go's streaming PutObject with the packager's part size and
// part buffers. Nothing is hashed, compressed or rendered.
func copyAll(ctx context.Context, s *blob.Store, caseFile string, up s3io.StreamOptions, prefetch, workers int) error {
	bc, err := load(caseFile)
	if err != nil {
		return err
	}
	plan := layout.Build(layout.Input{Case: bc.Case, Files: bc.Files, Index: &bc.Index, DerivedBucket: derived})
	start := time.Now()
	var n int64
	for _, it := range plan.Items {
		n += it.Source.Size
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(concat(ctx, s, plan.Items, pw, prefetch, workers)) }()
	info, err := s.Client().PutObject(ctx, copies, "copy/"+bc.Case.ID, pr, -1, minio.PutObjectOptions{
		ContentType: up.ContentType, PartSize: uint64(up.PartSize), NumThreads: uint(up.Buffers),
		ConcurrentStreamParts: true, DisableContentSha256: true})
	pr.CloseWithError(errors.New("upload stopped"))
	if err != nil {
		return err
	}
	if info.Size != n {
		return fmt.Errorf("copied %d bytes of %d", info.Size, n)
	}
	secs := time.Since(start).Seconds()
	fmt.Printf("copy: bytes=%d objects=%d seconds=%.3f MBps=%.1f\n", n, len(plan.Items), secs, float64(n)/1e6/secs)
	return nil
}

const (
	smallMax    = 8 << 20  // as bundler.Input.SmallMax
	aheadBudget = 32 << 20 // as bundler.Input.Budget
)

// slot is one object on its way into the copy.
type slot struct {
	it   *layout.Item
	data *[]byte // a small object, read whole
	body io.ReadCloser
	err  error
	cost int64
	done chan struct{}
}

// concat writes the items' objects into w in order while workers fetch the
// next ones.
func concat(ctx context.Context, s *blob.Store, items []layout.Item, w io.Writer, prefetch, workers int) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	queue := make(chan *slot, max(prefetch, workers+2))
	work := make(chan *slot)
	b := &budget{free: aheadBudget, total: aheadBudget, wake: make(chan struct{})}
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for sl := range work {
				sl.err = fetch(ctx, s, sl)
				close(sl.done)
			}
		})
	}
	wg.Go(func() {
		defer close(queue)
		defer close(work)
		for i := range items {
			sl := &slot{it: &items[i], done: make(chan struct{})}
			if sl.it.Source.Size <= smallMax {
				sl.cost = sl.it.Source.Size
			}
			if !b.acquire(ctx, sl.cost) {
				return
			}
			select {
			case queue <- sl:
			case <-ctx.Done():
				b.release(sl.cost)
				return
			}
			select {
			case work <- sl:
			case <-ctx.Done():
				sl.err = ctx.Err()
				close(sl.done)
				return
			}
		}
	})
	buf := make([]byte, 256<<10)
	var err error
	for sl := range queue {
		<-sl.done
		if err == nil {
			err = sl.err
		}
		if err == nil {
			if sl.body != nil {
				_, err = io.CopyBuffer(w, sl.body, buf)
			} else {
				_, err = w.Write(*sl.data)
			}
		}
		if sl.body != nil {
			_ = sl.body.Close()
		}
		putBuf(sl.data)
		b.release(sl.cost)
		if err != nil {
			cancel()
		}
	}
	wg.Wait()
	if err == nil && ctx.Err() != nil {
		err = ctx.Err()
	}
	return err
}

// fetch opens a slot's object and reads a small one whole.
func fetch(ctx context.Context, s *blob.Store, sl *slot) error {
	body, err := s.GetRange(ctx, sl.it.Source.Bucket, sl.it.Source.Key, 0, -1)
	if err != nil {
		return err
	}
	if sl.cost == 0 && sl.it.Source.Size > 0 {
		sl.body = body
		return nil
	}
	defer body.Close()
	sl.data = getBuf(int(sl.it.Source.Size))
	_, err = io.ReadFull(body, *sl.data)
	return err
}

// Buffers by power-of-two size class, reused across objects.
var pools [32]sync.Pool

func getBuf(n int) *[]byte {
	c := bits.Len(uint(n))
	if b, ok := pools[c].Get().(*[]byte); ok {
		*b = (*b)[:n]
		return b
	}
	b := make([]byte, n, 1<<c)
	return &b
}

func putBuf(b *[]byte) {
	if b != nil {
		pools[bits.Len(uint(cap(*b)-1))].Put(b)
	}
}

// budget bounds the bytes of small objects read ahead; one larger than the
// whole budget passes alone.
type budget struct {
	mu          sync.Mutex
	free, total int64
	wake        chan struct{}
}

func (b *budget) acquire(ctx context.Context, n int64) bool {
	for {
		b.mu.Lock()
		if n <= b.free || b.free == b.total {
			b.free -= n
			b.mu.Unlock()
			return true
		}
		wake := b.wake
		b.mu.Unlock()
		select {
		case <-wake:
		case <-ctx.Done():
			return false
		}
	}
}

func (b *budget) release(n int64) {
	if n == 0 {
		return
	}
	b.mu.Lock()
	b.free += n
	close(b.wake)
	b.wake = make(chan struct{})
	b.mu.Unlock()
}
