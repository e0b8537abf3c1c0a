package main

import (
	"flag"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"time"

	"github.com/handoffmed/handoff/services/dicom"
	"github.com/handoffmed/handoff/services/intake"
	"github.com/handoffmed/handoff/services/ocr"
	"github.com/handoffmed/handoff/services/packager"
)

// serviceFlags are the per-service settings `handoff serve` exposes.
type serviceFlags struct {
	bundleBucket     string
	bundleLinkExpiry time.Duration
	quietPeriod      time.Duration
	intakeWorkers    int
	dicomWorkers     int
	ocrWorkers       int
	ocrLanguages     string
	packagerWorkers  int
	// Per-case budgets.
	ocrCasePages       int
	dicomCaseInstances int
	dicomCaseBytes     int64
	archiveCaseEntries int
	archiveCaseBytes   int64
}

func envInt(key string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(key)); err == nil {
		return v
	}
	return def
}

func (f *serviceFlags) register(fs *flag.FlagSet) {
	fs.DurationVar(&f.bundleLinkExpiry, "bundle-link-expiry", envDuration("HANDOFF_BUNDLE_LINK_EXPIRY", 7*24*time.Hour), "how long a bundle stays downloadable through its link (env HANDOFF_BUNDLE_LINK_EXPIRY)")
	fs.DurationVar(&f.quietPeriod, "quiet-period", envDuration("HANDOFF_QUIET_PERIOD", 15*time.Minute), "a case with a clean report is bundled automatically this long after its last upload; negative disables (env HANDOFF_QUIET_PERIOD)")
	fs.IntVar(&f.intakeWorkers, "intake-workers", envInt("HANDOFF_INTAKE_WORKERS", 16), "bucket events handled at once (env HANDOFF_INTAKE_WORKERS)")
	fs.IntVar(&f.dicomWorkers, "dicom-workers", envInt("HANDOFF_DICOM_WORKERS", 4), "DICOM instances indexed at once (env HANDOFF_DICOM_WORKERS)")
	fs.IntVar(&f.ocrWorkers, "ocr-workers", envInt("HANDOFF_OCR_WORKERS", runtime.NumCPU()), "pages OCRed at once, one single-threaded Tesseract each (env HANDOFF_OCR_WORKERS)")
	fs.StringVar(&f.ocrLanguages, "ocr-lang", envOr("HANDOFF_OCR_LANG", "eng"), "Tesseract languages, e.g. eng+fra (env HANDOFF_OCR_LANG)")
	fs.IntVar(&f.packagerWorkers, "packager-workers", envInt("HANDOFF_PACKAGER_WORKERS", 1), "bundles made at once (env HANDOFF_PACKAGER_WORKERS)")
	fs.IntVar(&f.ocrCasePages, "ocr-case-pages", envInt("HANDOFF_OCR_CASE_PAGES", 1000), "pages OCRed per case, more are left as scanned; -1 no budget (env HANDOFF_OCR_CASE_PAGES)")
	fs.IntVar(&f.dicomCaseInstances, "dicom-case-instances", envInt("HANDOFF_DICOM_CASE_INSTANCES", 30000), "DICOM files indexed per case; -1 no budget (env HANDOFF_DICOM_CASE_INSTANCES)")
	fs.Int64Var(&f.dicomCaseBytes, "dicom-case-bytes", int64(envInt("HANDOFF_DICOM_CASE_BYTES", 30<<30)), "bytes of DICOM indexed per case; -1 no budget (env HANDOFF_DICOM_CASE_BYTES)")
	fs.IntVar(&f.archiveCaseEntries, "archive-case-entries", envInt("HANDOFF_ARCHIVE_CASE_ENTRIES", 60000), "entries expanded from all of a case's archives; -1 no budget (env HANDOFF_ARCHIVE_CASE_ENTRIES)")
	fs.Int64Var(&f.archiveCaseBytes, "archive-case-bytes", int64(envInt("HANDOFF_ARCHIVE_CASE_BYTES", 40<<30)), "bytes expanded from all of a case's archives; -1 no budget (env HANDOFF_ARCHIVE_CASE_BYTES)")
}

// build wires the services this process runs. mount adds their HTTP routes.
func (c serveConfig) build(d depsFor) (runners []runner, mount func(*http.ServeMux), err error) {
	var mounts []func(*http.ServeMux)
	if c.runs("intake") {
		ic := c.Intake
		ic.APIToken = c.APIToken
		ic.BucketEventWorkers = c.services.intakeWorkers
		ic.ReconcileInterval = c.Reconcile
		ic.CaseArchiveEntries, ic.CaseArchiveBytes, ic.Replicas = c.services.archiveCaseEntries, c.services.archiveCaseBytes, c.Replicas
		svc, err := intake.New(ic, intake.Deps{Log: d.log, Bus: d.bus, Blobs: d.blobs, Cases: d.cases, Registry: d.reg})
		if err != nil {
			return nil, nil, err
		}
		runners = append(runners, svc)
		mounts = append(mounts, svc.Mount)
	}
	if c.runs("dicom") {
		svc, err := dicom.New(dicom.Config{DerivedBucket: c.Intake.DerivedBucket, Workers: c.services.dicomWorkers,
			CaseInstances: c.services.dicomCaseInstances, CaseBytes: c.services.dicomCaseBytes, Replicas: c.Replicas},
			dicom.Deps{Log: d.log, Bus: d.bus, Blobs: d.blobs, Cases: d.cases})
		if err != nil {
			return nil, nil, err
		}
		runners = append(runners, svc)
	}
	if c.runs("ocr") {
		svc, err := ocr.New(ocr.Config{DerivedBucket: c.Intake.DerivedBucket, Workers: c.services.ocrWorkers,
			Languages: c.services.ocrLanguages, Replicas: c.Replicas, CasePages: c.services.ocrCasePages},
			ocr.Deps{Log: d.log, Bus: d.bus, Blobs: d.blobs, Cases: d.cases})
		if err != nil {
			return nil, nil, err
		}
		runners = append(runners, svc)
	}
	if c.runs("packager") {
		svc, err := packager.New(packager.Config{
			IntakeBucket: c.Intake.IntakeBucket, DerivedBucket: c.Intake.DerivedBucket, BundleBucket: c.services.bundleBucket,
			LinkExpiry: c.services.bundleLinkExpiry, QuietPeriod: c.services.quietPeriod, Workers: c.services.packagerWorkers,
		}, packager.Deps{Log: d.log, Bus: d.bus, Blobs: d.blobs, Cases: d.cases})
		if err != nil {
			return nil, nil, err
		}
		runners = append(runners, svc)
	}
	return runners, func(mux *http.ServeMux) {
		for _, m := range mounts {
			m(mux)
		}
	}, nil
}
