package packager

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"sync"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/handoffmed/handoff/platform/blob"
	"github.com/handoffmed/handoff/platform/bus"
	"github.com/handoffmed/handoff/platform/casestore"
	"github.com/handoffmed/handoff/platform/event"
	"github.com/handoffmed/handoff/platform/record"

	"github.com/handoffmed/handoff/services/packager/internal/bundler"
	"github.com/handoffmed/handoff/services/packager/internal/layout"
	"github.com/handoffmed/handoff/services/packager/internal/multipart"
	"github.com/handoffmed/handoff/services/packager/internal/s3io"
)

// Consumer names.
const (
	ConsumerBundle = "packager"
	ConsumerAuto   = "packager-auto"
)

// Triggers of a bundle.
const (
	TriggerRequest = "request"
	TriggerAuto    = "auto"
)

// Errors callers branch on.
var (
	// ErrPending means files of the case are still being processed.
	ErrPending = errors.New("files of the case are still being processed")
	// ErrNotQuiet means an upload arrived within the quiet period.
	ErrNotQuiet = errors.New("an upload arrived within the quiet period")
	// errVersionTaken means another worker recorded the version first.
	errVersionTaken = errors.New("bundle version taken by another worker")
)

// Run consumes bundle requests and, unless automatic bundling is off,
// report updates, until ctx is done.
func (s *Service) Run(ctx context.Context) error {
	s.log.Info("packager starting", "config", s.cfg)
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	wg.Go(func() {
		errs <- s.deps.Bus.Consume(ctx, s.bundleSpec(), s.handleBundle)
	})
	if s.cfg.QuietPeriod > 0 {
		wg.Go(func() {
			errs <- s.deps.Bus.Consume(ctx, s.autoSpec(), s.handleReport)
		})
	}
	wg.Wait()
	close(errs)
	var all []error
	for err := range errs {
		if err != nil {
			all = append(all, err)
		}
	}
	return errors.Join(all...)
}

// pendingDeliveries is how many deliveries a request waits for pending files.
func (s *Service) pendingDeliveries() int {
	return int(s.cfg.PendingWait/s.cfg.PendingRetry) + 1
}

func (s *Service) bundleSpec() bus.ConsumerSpec {
	return bus.ConsumerSpec{
		Stream: bus.StreamWork, Durable: ConsumerBundle, Filters: []string{event.SubjectWorkBundle},
		AckWait: 2 * time.Minute, Workers: s.cfg.Workers,
		// Waiting for pending files is a retry every PendingRetry; real
		// failures get a few more tries on top.
		MaxDeliver: s.pendingDeliveries() + 3,
		Backoff:    []time.Duration{s.cfg.PendingRetry},
	}
}

func (s *Service) autoSpec() bus.ConsumerSpec {
	return bus.ConsumerSpec{
		Stream: bus.StreamEvents, Durable: ConsumerAuto, Filters: []string{event.SubjectReportUpdated},
		DeliverNew: true, Workers: 4,
		MaxDeliver: int(s.cfg.QuietPeriod/s.cfg.QuietCheck) + 5,
		Backoff:    []time.Duration{s.cfg.QuietCheck},
	}
}

func (s *Service) handleBundle(ctx context.Context, m *bus.Msg) error {
	var req event.BundleRequested
	if err := m.Decode(&req); err != nil {
		return err
	}
	if !record.ValidID(req.CaseID) {
		return bus.Permanent(errors.New("bundle request: bad case ID"))
	}
	trigger := req.Trigger
	if trigger != TriggerAuto {
		trigger = TriggerRequest
	}
	// A request waits for pending files for a while, then bundles what is
	// there; an automatic bundle just stops (the next report retriggers it).
	allowPending := trigger == TriggerRequest && int(m.Delivered) >= s.pendingDeliveries()
	b, err := s.Bundle(ctx, req.CaseID, BundleOptions{Trigger: trigger, AllowPending: allowPending})
	switch {
	case errors.Is(err, ErrPending) && trigger == TriggerAuto:
		s.log.Info("automatic bundle skipped: files pending", "case_id", req.CaseID)
		return nil
	case errors.Is(err, ErrPending):
		return err // retried after PendingRetry
	case errors.Is(err, casestore.ErrNotFound):
		return bus.Permanent(err)
	case err != nil:
		return err
	}
	s.log.Info("bundle ready", "case_id", req.CaseID, "version", b.Version, "size", b.Size, "trigger", trigger)
	return nil
}

// handleReport turns a clean report into an automatic bundle request once
// the case has been quiet for the quiet period.
func (s *Service) handleReport(ctx context.Context, m *bus.Msg) error {
	var ev event.ReportUpdated
	if err := m.Decode(&ev); err != nil {
		return err
	}
	if ev.Errors > 0 || ev.Pending > 0 || !record.ValidID(ev.CaseID) {
		return nil
	}
	rctx, cancel := context.WithTimeout(ctx, s.cfg.OpTimeout)
	defer cancel()
	rep, err := s.deps.Cases.Report(rctx, ev.CaseID)
	if errors.Is(err, casestore.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if rep.Digest != ev.Digest || rep.HasErrors() || rep.Pending > 0 {
		return nil // a newer report has its own event
	}
	files, err := s.deps.Cases.Files(rctx, ev.CaseID)
	if err != nil {
		return err
	}
	var last time.Time
	for _, f := range files {
		if f.Received.After(last) {
			last = f.Received
		}
		if f.Pending() {
			return nil // the report after it finishes will come
		}
	}
	if wait := s.cfg.QuietPeriod - s.now().Sub(last); wait > 0 {
		return fmt.Errorf("case %s: %w", ev.CaseID, ErrNotQuiet) // re-checked after QuietCheck
	}
	digest := ev.Digest
	if len(digest) > 32 {
		digest = digest[:32]
	}
	return s.deps.Bus.Publish(ctx, event.BundleRequested{Version: 1, CaseID: ev.CaseID, Trigger: TriggerAuto, RequestID: "auto-" + digest})
}

// BundleOptions tune one bundle.
type BundleOptions struct {
	// Trigger is recorded on the bundle ("request" or "auto").
	Trigger string
	// AllowPending bundles even while files are being processed; they are
	// listed in the checklist. Otherwise ErrPending is returned.
	AllowPending bool
}

// Bundle makes a case's bundle, unless a bundle of the same inputs exists
// and has not expired: then that one is announced again and returned. The
// new version is appended to the case with compare-and-set and announced
// with event.BundleReady.
func (s *Service) Bundle(ctx context.Context, caseID string, o BundleOptions) (record.Bundle, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.JobTimeout)
	defer cancel()
	c, err := s.deps.Cases.Case(ctx, caseID)
	if err != nil {
		return record.Bundle{}, fmt.Errorf("bundle: %w", err)
	}
	files, err := s.deps.Cases.Files(ctx, caseID)
	if err != nil {
		return record.Bundle{}, fmt.Errorf("bundle: %w", err)
	}
	var rep *record.Report
	if r, err := s.deps.Cases.Report(ctx, caseID); err == nil {
		rep = &r
	} else if !errors.Is(err, casestore.ErrNotFound) {
		return record.Bundle{}, fmt.Errorf("bundle: %w", err)
	}
	idx, err := s.index(ctx, caseID)
	if err != nil {
		return record.Bundle{}, err
	}

	version := 1
	if n := len(c.Bundles); n > 0 {
		version = c.Bundles[n-1].Version + 1
	}
	objs := s3io.Objects{Blobs: s.deps.Blobs, Op: s.cfg.OpTimeout}
	job, err := bundler.Prepare(ctx, objs, bundler.Input{
		Input:  layout.Input{Case: c, Files: files, Index: idx, DerivedBucket: s.cfg.DerivedBucket},
		Report: rep, Vocab: s.vocab, Version: version, Fonts: s.fonts, Zip: s.zipOptions(), Prefetch: s.cfg.Prefetch,
	})
	if err != nil {
		return record.Bundle{}, fmt.Errorf("bundle: %w", cleanS3Err(err))
	}
	if job.Plan().Pending > 0 && !o.AllowPending {
		return record.Bundle{}, fmt.Errorf("case %s: %d files: %w", caseID, job.Plan().Pending, ErrPending)
	}
	// Every file is processed, but the checklist and the imaging index may
	// not have caught up with the last of them yet.
	if !o.AllowPending && (!rep.Current(c, files) || !indexCurrent(idx, files)) {
		return record.Bundle{}, fmt.Errorf("case %s: report or imaging index not current yet: %w", caseID, ErrPending)
	}
	now := s.now().UTC()
	for _, b := range c.Bundles {
		if b.Inputs == job.Inputs() && now.Before(b.Expires) {
			// A redelivered job, or nothing changed: same bundle, no new version.
			return b, s.announce(ctx, caseID, b)
		}
	}

	// Never overwrite an object: skip versions whose key is taken (a worker
	// that died after its upload, before recording it).
	key := record.BundleKey(caseID, version, job.Name())
	for {
		_, err := s.deps.Blobs.Stat(ctx, s.cfg.BundleBucket, key)
		if errors.Is(err, blob.ErrNotFound) {
			break
		}
		if err != nil {
			return record.Bundle{}, fmt.Errorf("bundle: %w", cleanS3Err(err))
		}
		version++
		key = record.BundleKey(caseID, version, job.Name())
	}
	if version != job.Version() {
		if job, err = bundler.Prepare(ctx, objs, job.WithVersion(version)); err != nil {
			return record.Bundle{}, fmt.Errorf("bundle: %w", cleanS3Err(err))
		}
	}

	var res bundler.Result
	up := s3io.NewUploads(s.deps.Blobs, s.cfg.OpTimeout)
	// The ZIP's SHA-256 is computed part by part beside the upload.
	mres, err := multipart.Upload(ctx, up, s.cfg.BundleBucket, key,
		multipart.Options{PartSize: s.cfg.PartSize, Concurrency: s.cfg.UploadConcurrency, ContentType: "application/zip", SHA256: true},
		func(w io.Writer) error {
			var err error
			res, err = job.Write(ctx, objs, w)
			return err
		})
	if err != nil {
		return record.Bundle{}, fmt.Errorf("bundle case %s version %d: %w", caseID, version, cleanS3Err(err))
	}
	if mres.Size != res.Size {
		return record.Bundle{}, fmt.Errorf("bundle case %s: uploaded %d bytes of a %d-byte ZIP", caseID, mres.Size, res.Size)
	}
	b := record.Bundle{
		Version: version, Bucket: s.cfg.BundleBucket, Key: key, Name: job.Name(), Size: res.Size, SHA256: hex.EncodeToString(mres.SHA256[:]),
		Created: now, Expires: now.Add(s.cfg.LinkExpiry), Inputs: job.Inputs(), Trigger: o.Trigger,
	}
	_, err = s.deps.Cases.UpdateCase(ctx, caseID, func(c *record.Case) error {
		for _, x := range c.Bundles {
			if x.Inputs == b.Inputs && now.Before(x.Expires) {
				b = x // another worker recorded the same bundle first
				return casestore.ErrNoChange
			}
			if x.Version >= b.Version {
				return errVersionTaken
			}
		}
		c.Bundles = append(c.Bundles, b)
		return nil
	})
	if err != nil {
		return record.Bundle{}, fmt.Errorf("record bundle of %s: %w", caseID, err)
	}
	return b, s.announce(ctx, caseID, b)
}

func (s *Service) announce(ctx context.Context, caseID string, b record.Bundle) error {
	err := s.deps.Bus.Publish(ctx, event.BundleReady{Version: 1, CaseID: caseID, BundleVersion: b.Version,
		Bucket: b.Bucket, Key: b.Key, Size: b.Size, SHA256: b.SHA256})
	if err != nil {
		return fmt.Errorf("announce bundle: %w", err)
	}
	return nil
}

// index reads the case's imaging index (nil when the case has none).
func (s *Service) index(ctx context.Context, caseID string) (*record.DicomIndex, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.OpTimeout)
	defer cancel()
	rc, _, err := s.deps.Blobs.Get(ctx, s.cfg.DerivedBucket, record.DicomIndexKey(caseID))
	if errors.Is(err, blob.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("imaging index: %w", cleanS3Err(err))
	}
	defer rc.Close()
	var idx record.DicomIndex
	if err := json.NewDecoder(rc).Decode(&idx); err != nil {
		return nil, fmt.Errorf("imaging index of %s: %w", caseID, err)
	}
	return &idx, nil
}

// indexCurrent reports whether the imaging index holds every indexed
// DICOM file of the case as it is now.
func indexCurrent(idx *record.DicomIndex, files []record.File) bool {
	have := map[string]string{}
	if idx != nil {
		for _, st := range idx.Studies {
			for _, se := range st.Series {
				for _, m := range se.Members {
					have[m.FileID] = m.ETag
				}
			}
		}
	}
	for _, f := range files {
		if f.Route == record.RouteDICOM && f.Status == record.StatusDone && f.DICOM != nil && f.DICOM.DuplicateOf == "" {
			if etag, ok := have[f.ID]; !ok || etag != f.ETag {
				return false
			}
		}
	}
	return true
}

// cleanS3Err drops the object key from S3 errors (upload keys hold the
// patient's own file names) but keeps what callers branch on.
func cleanS3Err(err error) error {
	if err == nil {
		return nil
	}
	var er minio.ErrorResponse
	switch {
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		return err
	case errors.Is(err, blob.ErrNotFound):
		return fmt.Errorf("source object missing: %w", blob.ErrNotFound)
	case errors.As(err, &er):
		return fmt.Errorf("s3 %s (HTTP %d)", er.Code, er.StatusCode)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("s3 request: %w", ue.Err)
	}
	return err
}
