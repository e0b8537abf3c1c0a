package dicom

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/handoffmed/handoff/platform/app"
	"github.com/handoffmed/handoff/platform/blob"
	"github.com/handoffmed/handoff/platform/budget"
	"github.com/handoffmed/handoff/platform/bus"
	"github.com/handoffmed/handoff/platform/casestore"
	"github.com/handoffmed/handoff/platform/event"
	"github.com/handoffmed/handoff/platform/record"
	"github.com/handoffmed/handoff/platform/stage"
)

// StageName is the stage the DICOM service records on files.
const StageName = "dicom"

// Config configures the DICOM service.
type Config struct {
	// DerivedBucket receives the case index and the file-sets.
	DerivedBucket string
	// Workers is how many work items are handled at once (default 4).
	Workers int
	// MaxObject is the largest DICOM object accepted (default 4 GiB).
	MaxObject int64
	// MaxHeader is the most bytes read before the pixel data (default 32 MiB).
	MaxHeader int64
	// RangeSize is the size of each ranged S3 read while reading a header
	// (default and maximum 64 KiB): bytes read per instance stay within its
	// header plus one range.
	RangeSize int64
	// AckWait is how long a work item may run without a heartbeat (default 60s).
	AckWait time.Duration
	// OpTimeout bounds each S3 call and publish (default 30s).
	OpTimeout time.Duration
	// CaseInstances and CaseBytes are each case's DICOM budget: instances
	// indexed per case (default 30,000) and their bytes (default 30 GiB);
	// negative: no budget. A file over it is kept, not indexed, and
	// rejected with input.case_dicom_budget.
	CaseInstances int
	CaseBytes     int64
	// UsageBucket is the KV bucket of the cases' budget usage (default
	// budget.DefaultBucket, shared with the other services).
	UsageBucket string
	// Replicas of the usage bucket (default 1).
	Replicas int
}

func (c Config) withDefaults() Config {
	if c.Workers == 0 {
		c.Workers = 4
	}
	if c.RangeSize == 0 {
		c.RangeSize = 64 << 10
	}
	if c.AckWait == 0 {
		c.AckWait = time.Minute
	}
	if c.OpTimeout == 0 {
		c.OpTimeout = 30 * time.Second
	}
	if c.CaseInstances == 0 {
		c.CaseInstances = 30000
	}
	if c.CaseBytes == 0 {
		c.CaseBytes = 30 << 30
	}
	return c
}

// Validate checks the configuration.
func (c Config) Validate() error {
	c = c.withDefaults()
	var errs []error
	if c.DerivedBucket == "" {
		errs = append(errs, errors.New("dicom: derived bucket is required"))
	}
	if c.Workers < 1 || c.Workers > 256 {
		errs = append(errs, fmt.Errorf("dicom: workers %d, want 1..256", c.Workers))
	}
	if c.RangeSize < 4<<10 || c.RangeSize > 64<<10 {
		errs = append(errs, fmt.Errorf("dicom: range size %d, want 4 KiB..64 KiB", c.RangeSize))
	}
	if c.MaxObject < 0 || c.MaxHeader < 0 {
		errs = append(errs, errors.New("dicom: negative size cap"))
	}
	return errors.Join(errs...)
}

// Deps are the service's connections, as every service binary makes them
// (app.Deps).
type Deps = app.Deps

// Service indexes the DICOM files of the work queue handoff.work.dicom.
type Service struct {
	cfg     Config
	log     *slog.Logger
	bus     *bus.Bus
	blobs   *blob.Store
	cases   *casestore.Store
	tracker stage.Tracker
	usage   *budget.Store
}

// New returns the service.
func New(cfg Config, d Deps) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if d.Bus == nil || d.Blobs == nil || d.Cases == nil {
		return nil, errors.New("dicom: Bus, Blobs and Cases are required")
	}
	log := d.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg = cfg.withDefaults()
	return &Service{
		cfg: cfg, log: log.With("service", "dicom"), bus: d.Bus, blobs: d.Blobs, cases: d.Cases,
		tracker: stage.Tracker{Cases: d.Cases, Bus: d.Bus},
		usage:   budget.New(d.Bus.JetStream(), budget.Options{Bucket: cfg.UsageBucket, Replicas: cfg.Replicas}),
	}, nil
}

// ConsumerSpec is the durable consumer the service runs.
func (s *Service) ConsumerSpec() bus.ConsumerSpec {
	return bus.ConsumerSpec{
		Stream: bus.StreamWork, Durable: "dicom", Filters: []string{event.SubjectWorkDICOM},
		AckWait: s.cfg.AckWait, Workers: s.cfg.Workers,
	}
}

// Consumers are ConsumerSpec as a list, like every service's.
func (s *Service) Consumers() []bus.ConsumerSpec { return []bus.ConsumerSpec{s.ConsumerSpec()} }

// Run consumes work items until ctx is done, then drains.
func (s *Service) Run(ctx context.Context) error {
	s.log.Info("starting", "derived_bucket", s.cfg.DerivedBucket, "workers", s.cfg.Workers,
		"range_size", s.cfg.RangeSize, "max_object", s.cfg.MaxObject, "max_header", s.cfg.MaxHeader,
		"case_instances", s.cfg.CaseInstances, "case_bytes", s.cfg.CaseBytes)
	return s.bus.Consume(ctx, s.ConsumerSpec(), s.Handle)
}

// Handle processes one work item (exported for tests and other wiring).
func (s *Service) Handle(ctx context.Context, m *bus.Msg) error {
	var w event.FileWork
	if err := m.Decode(&w); err != nil {
		return err // Decode marks a bad message permanent
	}
	ref := w.FileRef
	log := s.log.With("case_id", ref.CaseID, "file_id", ref.FileID)
	f, err := s.tracker.Start(ctx, ref, StageName)
	if errors.Is(err, stage.ErrStale) {
		log.Info("stale work item")
		return nil
	}
	if err != nil {
		return fmt.Errorf("start %s: %w", ref.FileID, err)
	}
	if !record.Terminal(f.Status) { // a redelivered item of a finished file changes nothing
		if err := s.index(ctx, log, ref); err != nil {
			if errors.Is(err, stage.ErrStale) {
				return nil
			}
			return err
		}
	}
	return s.finalize(ctx, log, ref.CaseID)
}

// index reads one object's header and records the result on the file.
func (s *Service) index(ctx context.Context, log *slog.Logger, ref event.FileRef) error {
	rr := &rangeReader{ctx: ctx, blobs: s.blobs, bucket: ref.Bucket, key: ref.Key, size: ref.Size, chunk: s.cfg.RangeSize, timeout: s.cfg.OpTimeout}
	if rr.size <= 0 {
		sctx, cancel := context.WithTimeout(ctx, s.cfg.OpTimeout)
		info, err := s.blobs.Stat(sctx, ref.Bucket, ref.Key)
		cancel()
		if errors.Is(err, blob.ErrNotFound) {
			_, err = s.tracker.Fail(ctx, ref, StageName, &record.Error{Code: record.CodeUnreadable, Message: "the uploaded object is gone"})
			return err
		}
		if err != nil {
			return fmt.Errorf("stat: %w", err)
		}
		rr.size = info.Size
	}
	if ok, err := s.withinBudget(ctx, ref, rr.size); err != nil {
		return err
	} else if !ok {
		log.Info("over the case's budget", "code", record.CodeCaseDICOMBudget)
		_, err := s.tracker.Fail(ctx, ref, StageName, &record.Error{Code: record.CodeCaseDICOMBudget, Message: s.budgetMessage()})
		return err
	}
	h, err := Read(rr, rr.size, ReadOptions{MaxObject: s.cfg.MaxObject, MaxHeader: s.cfg.MaxHeader})
	defer rr.Close()
	var re *record.Error
	switch {
	case errors.Is(rr.err, blob.ErrNotFound):
		_, err := s.tracker.Fail(ctx, ref, StageName, &record.Error{Code: record.CodeUnreadable, Message: "the uploaded object is gone"})
		return err
	case rr.err != nil:
		return fmt.Errorf("read %s: %w", ref.FileID, rr.err) // transient: retry
	case errors.As(err, &re):
		log.Info("unreadable", "code", re.Code, "bytes_read", rr.read)
		_, err := s.tracker.Fail(ctx, ref, StageName, re)
		return err
	case err != nil:
		return fmt.Errorf("read %s: %w", ref.FileID, err)
	}
	log.Info("indexed", "bytes_read", rr.read, "requests", rr.requests, "dicomdir", h.DICOMDIR, "part10", !h.NeedsPart10)
	_, err = s.tracker.Done(ctx, ref, StageName, func(f *record.File) {
		f.Warnings = slices.DeleteFunc(f.Warnings, func(e record.Error) bool { return e.Code == codeDICOMWarning })
		if h.DICOMDIR {
			f.DICOM = nil
			f.Warnings = append(f.Warnings, record.Error{Code: codeDICOMWarning, Message: "a DICOMDIR (the directory of an imaging CD); its images are indexed one by one"})
			return
		}
		in := h.Instance
		in.HeaderBytes = rr.read
		f.DICOM = &in
		for _, w := range h.Warnings {
			f.Warnings = append(f.Warnings, record.Error{Code: codeDICOMWarning, Message: w})
		}
	})
	return err
}

// withinBudget charges one instance of size bytes to its case's DICOM
// budget, once per file revision, and reports whether it fits.
func (s *Service) withinBudget(ctx context.Context, ref event.FileRef, size int64) (bool, error) {
	limits := budget.Amounts{}
	if s.cfg.CaseInstances > 0 {
		limits[budget.DICOMInstances] = int64(s.cfg.CaseInstances)
	}
	if s.cfg.CaseBytes > 0 {
		limits[budget.DICOMBytes] = s.cfg.CaseBytes
	}
	bctx, cancel := context.WithTimeout(ctx, s.cfg.OpTimeout)
	defer cancel()
	c := budget.Charge{CaseID: ref.CaseID, Purpose: "dicom", FileID: ref.FileID, ETag: ref.ETag}
	ok, err := s.usage.TakeAll(bctx, c, budget.Amounts{budget.DICOMInstances: 1, budget.DICOMBytes: max(size, 0)}, limits)
	if err != nil {
		return false, fmt.Errorf("dicom budget: %w", err)
	}
	return ok, nil
}

func (s *Service) budgetMessage() string {
	var parts []string
	if s.cfg.CaseInstances > 0 {
		parts = append(parts, fmt.Sprintf("%d DICOM files", s.cfg.CaseInstances))
	}
	if s.cfg.CaseBytes > 0 {
		parts = append(parts, sizeWords(s.cfg.CaseBytes)+" of DICOM")
	}
	return "the case is over its imaging budget of " + strings.Join(parts, " or ") + "; the file is kept but not indexed"
}

// codeDICOMWarning marks tolerated header defects on a file.
const codeDICOMWarning = "dicom.tolerated"

// dicomFile reports whether a file is the DICOM service's.
func dicomFile(f record.File) bool {
	return f.Route == record.RouteDICOM || f.Type == record.TypeDICOM || f.Type == record.TypeDICOMDIR
}

// finalize writes the case's index, file-sets and completion events once no
// DICOM file of the case is pending. Several workers can finish the last
// files of a case at once, and a slow one can finish after a faster one that
// saw more files: an index is written only over an older one (a lower
// basis), with a conditional write, so the newest always stays.
func (s *Service) finalize(ctx context.Context, log *slog.Logger, caseID string) error {
	for range 8 {
		err := s.finalizeOnce(ctx, log, caseID)
		if !errors.Is(err, blob.ErrPrecondition) {
			return err
		}
	}
	return errors.New("the case's index kept changing while it was written")
}

func (s *Service) finalizeOnce(ctx context.Context, log *slog.Logger, caseID string) error {
	cur, etag, err := s.currentIndex(ctx, caseID)
	if err != nil {
		return err
	}
	files, err := s.cases.Files(ctx, caseID)
	if err != nil {
		return fmt.Errorf("list files: %w", err)
	}
	var items []Item
	var unreadable []string
	var latest time.Time
	var basis uint64
	for _, f := range files {
		if !dicomFile(f) {
			continue
		}
		if f.Pending() {
			return nil // the last worker to finish a DICOM file of the case writes the index
		}
		basis = max(basis, f.Revision)
		if f.Received.After(latest) {
			latest = f.Received
		}
		switch {
		case f.Status == record.StatusFailed && f.Error != nil && f.Error.Code == record.CodeCaseDICOMBudget:
			// kept, not indexed: not unreadable
		case f.Status == record.StatusFailed:
			unreadable = append(unreadable, f.ID)
		case f.Status == record.StatusDone && f.DICOM != nil:
			items = append(items, Item{FileID: f.ID, Bucket: f.Bucket, Key: f.Key, ETag: f.ETag, Size: f.Size, Instance: *f.DICOM})
		}
	}
	if len(items) == 0 && len(unreadable) == 0 || cur != nil && cur.Basis >= basis {
		return nil // nothing to index, or an index of these files (or newer) is there
	}
	c, err := s.cases.Case(ctx, caseID)
	if err != nil && !errors.Is(err, casestore.ErrNotFound) {
		return fmt.Errorf("case: %w", err)
	}
	idx := BuildIndex(caseID, c.Patient, items, latest)
	idx.Unreadable = unreadable
	idx.Basis = basis
	insts := make(map[string]record.DicomInstance, len(items))
	for _, it := range items {
		insts[it.FileID] = it.Instance
	}
	for i := range idx.Studies {
		fs, err := s.writeFileSet(ctx, caseID, basis, idx.Studies[i], insts)
		if err != nil {
			return err
		}
		idx.Studies[i].FileSet = fs
	}
	if err := s.markDuplicates(ctx, caseID, items); err != nil {
		return err
	}
	data, err := json.MarshalIndent(idx, "", " ")
	if err != nil {
		return fmt.Errorf("encode index: %w", err)
	}
	if err := s.put(ctx, record.DicomIndexKey(caseID), data, blob.PutOptions{IfMatch: etag, IfAbsent: etag == ""}); err != nil {
		return err
	}
	for _, st := range idx.Studies {
		for _, se := range st.Series {
			ev := event.DICOMIndexed{
				Version: 1, CaseID: caseID, StudyUID: st.UID, SeriesUID: se.UID,
				Instances: se.Instances, IndexKey: record.DicomIndexKey(caseID), Digest: SeriesDigest(se), Basis: basis,
			}
			pctx, cancel := context.WithTimeout(ctx, s.cfg.OpTimeout)
			err := s.bus.Publish(pctx, ev)
			cancel()
			if err != nil {
				return fmt.Errorf("publish indexed: %w", err)
			}
		}
	}
	log.Info("case indexed", "studies", len(idx.Studies), "instances", len(items), "unreadable", len(unreadable), "findings", len(idx.Findings))
	return nil
}

// currentIndex reads the case's index as it is stored, with its ETag; nil
// and "" when there is none.
func (s *Service) currentIndex(ctx context.Context, caseID string) (*record.DicomIndex, string, error) {
	gctx, cancel := context.WithTimeout(ctx, s.cfg.OpTimeout)
	defer cancel()
	rc, info, err := s.blobs.Get(gctx, s.cfg.DerivedBucket, record.DicomIndexKey(caseID))
	if errors.Is(err, blob.ErrNotFound) {
		return nil, "", nil
	}
	if err != nil {
		return nil, "", fmt.Errorf("read index: %w", err)
	}
	defer rc.Close()
	var idx record.DicomIndex
	if err := json.NewDecoder(rc).Decode(&idx); err != nil {
		return nil, info.ETag, nil // unreadable: replace it
	}
	return &idx, info.ETag, nil
}

// markDuplicates records on each duplicate upload which file it repeats.
func (s *Service) markDuplicates(ctx context.Context, caseID string, items []Item) error {
	sorted := slices.Clone(items)
	slices.SortStableFunc(sorted, func(a, b Item) int { return cmp.Compare(a.FileID, b.FileID) })
	_, dupOf := Dedupe(sorted)
	for _, it := range sorted {
		first := dupOf[it.FileID] // "" for the first upload of each instance
		if it.Instance.DuplicateOf == first {
			continue
		}
		ref := event.FileRef{CaseID: caseID, FileID: it.FileID, ETag: it.ETag}
		_, err := s.tracker.Update(ctx, ref, func(f *record.File) error {
			if f.DICOM == nil || f.DICOM.DuplicateOf == first {
				return casestore.ErrNoChange
			}
			f.DICOM.DuplicateOf = first
			return nil
		})
		if err != nil && !errors.Is(err, stage.ErrStale) {
			return fmt.Errorf("mark duplicate: %w", err)
		}
	}
	return nil
}

// writeFileSet writes a study's DICOMDIR and the Part 10 copies of the
// instances that need one, and returns the file-set's description.
func (s *Service) writeFileSet(ctx context.Context, caseID string, basis uint64, st record.Study, insts map[string]record.DicomInstance) (*record.FileSet, error) {
	plan, err := PlanFileSet(st, insts)
	if err != nil {
		return nil, err
	}
	prefix := record.FileSetPrefix(caseID, basis, st.Folder)
	fs := &record.FileSet{DICOMDIRBucket: s.cfg.DerivedBucket, DICOMDIRKey: prefix + "DICOMDIR", DICOMDIRSize: int64(len(plan.DICOMDIR))}
	if err := s.put(ctx, fs.DICOMDIRKey, plan.DICOMDIR, blob.PutOptions{}); err != nil {
		return nil, err
	}
	for _, m := range plan.Members {
		e := record.FileSetEntry{Path: m.Path, FileID: m.Ref.FileID, Bucket: m.Ref.Bucket, Key: m.Ref.Key, Size: m.Ref.Size}
		if m.Instance.NeedsPart10 {
			key := prefix + m.Path
			size := Part10Size(m.Instance, m.Ref.Size)
			if err := s.copyPart10(ctx, m, key, size); err != nil {
				return nil, err
			}
			e.Bucket, e.Key, e.Size = s.cfg.DerivedBucket, key, size
		}
		fs.Entries = append(fs.Entries, e)
	}
	return fs, nil
}

// copyPart10 writes the normalised Part 10 copy of an instance, unless an
// object of the right size is already there.
func (s *Service) copyPart10(ctx context.Context, m FileSetMember, key string, size int64) error {
	sctx, cancel := context.WithTimeout(ctx, s.cfg.OpTimeout)
	info, err := s.blobs.Stat(sctx, s.cfg.DerivedBucket, key)
	cancel()
	if err == nil && info.Size == size {
		return nil
	}
	gctx, cancel := context.WithTimeout(ctx, 10*s.cfg.OpTimeout)
	defer cancel()
	src, _, err := s.blobs.Get(gctx, m.Ref.Bucket, m.Ref.Key)
	if err != nil {
		return fmt.Errorf("part 10 copy: %w", err)
	}
	defer src.Close()
	r, err := Part10(m.Instance, src)
	if err != nil {
		return fmt.Errorf("part 10 copy: %w", err)
	}
	if _, err := s.blobs.Put(gctx, s.cfg.DerivedBucket, key, r, size, blob.PutOptions{ContentType: "application/dicom"}); err != nil {
		return fmt.Errorf("part 10 copy: %w", err)
	}
	return nil
}

func (s *Service) put(ctx context.Context, key string, data []byte, o blob.PutOptions) error {
	pctx, cancel := context.WithTimeout(ctx, s.cfg.OpTimeout)
	defer cancel()
	o.ContentType = "application/json"
	if !bytes.HasPrefix(data, []byte("{")) {
		o.ContentType = "application/dicom"
	}
	if _, err := s.blobs.Put(pctx, s.cfg.DerivedBucket, key, bytes.NewReader(data), int64(len(data)), o); err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	return nil
}

// rangeReader reads an object with ranged GETs of at most chunk bytes,
// opening the next range only when the previous one is used up, so that
// stopping early leaves at most one range unread.
type rangeReader struct {
	ctx      context.Context
	blobs    *blob.Store
	bucket   string
	key      string
	size     int64
	chunk    int64
	timeout  time.Duration
	off      int64
	body     io.ReadCloser
	cancel   context.CancelFunc
	left     int64
	read     int64 // bytes delivered from S3
	requests int
	err      error
}

func (r *rangeReader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	if r.left == 0 {
		r.Close()
		if r.off >= r.size {
			return 0, io.EOF
		}
		n := min(r.chunk, r.size-r.off)
		ctx, cancel := context.WithTimeout(r.ctx, r.timeout)
		body, err := r.blobs.GetRange(ctx, r.bucket, r.key, r.off, n)
		if err != nil {
			cancel()
			r.err = err
			return 0, err
		}
		r.body, r.cancel, r.left = body, cancel, n
		r.requests++
	}
	if int64(len(p)) > r.left {
		p = p[:r.left]
	}
	n, err := r.body.Read(p)
	r.off += int64(n)
	r.left -= int64(n)
	r.read += int64(n)
	if errors.Is(err, io.EOF) {
		if r.left > 0 {
			r.err = fmt.Errorf("range ended %d bytes early: %w", r.left, io.ErrUnexpectedEOF)
			return n, r.err
		}
		err = nil
	}
	if err != nil {
		r.err = err
	}
	return n, err
}

// Close releases the current range.
func (r *rangeReader) Close() error {
	if r.body != nil {
		_ = r.body.Close()
		r.cancel()
		r.body, r.cancel = nil, nil
	}
	return nil
}

// sizeWords says a byte count in GiB when it is whole, else in MiB.
func sizeWords(b int64) string {
	if b%(1<<30) == 0 {
		return fmt.Sprintf("%d GiB", b>>30)
	}
	return fmt.Sprintf("%d MiB", b>>20)
}
