package main

import (
	"net/http"
	"time"

	"github.com/handoffmed/handoff/platform/config"
	"github.com/handoffmed/handoff/platform/natsauth"
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
	maxUpload        int64

	cleanupInterval    time.Duration
	uploadMaxAge       time.Duration
	bundleUploadMaxAge time.Duration
	// Per-case budgets.
	ocrCasePages       int
	dicomCaseInstances int
	dicomCaseBytes     int64
	archiveCaseEntries int
	archiveCaseBytes   int64
}

func (f *serviceFlags) register(s *config.Set) {
	config.Add(s, &f.bundleLinkExpiry, config.BundleLinkExpiry)
	config.Add(s, &f.quietPeriod, config.QuietPeriod)
	config.Add(s, &f.intakeWorkers, config.IntakeWorkers)
	config.Add(s, &f.dicomWorkers, config.DICOMWorkers)
	config.Add(s, &f.ocrWorkers, config.OCRWorkers)
	config.Add(s, &f.ocrLanguages, config.OCRLang)
	config.Add(s, &f.packagerWorkers, config.PackagerWorkers)
	config.Add(s, &f.maxUpload, config.IntakeMaxUpload)
	config.Add(s, &f.cleanupInterval, config.CleanupInterval)
	config.Add(s, &f.uploadMaxAge, config.UploadMaxAge)
	config.Add(s, &f.bundleUploadMaxAge, config.BundleUploadMaxAge)
	config.Add(s, &f.ocrCasePages, config.OCRCasePages)
	config.Add(s, &f.dicomCaseInstances, config.DICOMCaseInstances)
	config.Add(s, &f.dicomCaseBytes, config.DICOMCaseBytes)
	config.Add(s, &f.archiveCaseEntries, config.ArchiveCaseEntries)
	config.Add(s, &f.archiveCaseBytes, config.ArchiveCaseBytes)
}

// build wires the services this process runs, each with the connections
// of its own NATS role (depsOf). mount adds their HTTP routes.
func (c serveConfig) build(depsOf func(natsauth.Role) (depsFor, error)) (runners []runner, mount func(*http.ServeMux), err error) {
	var mounts []func(*http.ServeMux)
	if c.runs("intake") {
		d, err := depsOf(natsauth.Intake)
		if err != nil {
			return nil, nil, err
		}
		ic := c.Intake
		ic.APIToken = c.APIToken
		ic.BucketEventWorkers = c.services.intakeWorkers
		ic.ReconcileInterval = c.Reconcile
		ic.CleanupInterval, ic.UploadMaxAge = c.services.cleanupInterval, c.services.uploadMaxAge
		ic.MaxUploadBytes = c.services.maxUpload
		ic.Replicas = c.Replicas
		ic.CaseArchiveEntries, ic.CaseArchiveBytes = c.services.archiveCaseEntries, c.services.archiveCaseBytes
		svc, err := intake.New(ic, intake.Deps{Log: d.log, Bus: d.bus, Blobs: d.blobs, Cases: d.cases, Registry: d.reg})
		if err != nil {
			return nil, nil, err
		}
		runners = append(runners, svc)
		mounts = append(mounts, svc.Mount)
	}
	if c.runs("dicom") {
		d, err := depsOf(natsauth.DICOM)
		if err != nil {
			return nil, nil, err
		}
		svc, err := dicom.New(dicom.Config{DerivedBucket: c.Intake.DerivedBucket, Workers: c.services.dicomWorkers,
			CaseInstances: c.services.dicomCaseInstances, CaseBytes: c.services.dicomCaseBytes, Replicas: c.Replicas},
			dicom.Deps{Log: d.log, Bus: d.bus, Blobs: d.blobs, Cases: d.cases})
		if err != nil {
			return nil, nil, err
		}
		runners = append(runners, svc)
	}
	if c.runs("ocr") {
		d, err := depsOf(natsauth.OCR)
		if err != nil {
			return nil, nil, err
		}
		svc, err := ocr.New(ocr.Config{DerivedBucket: c.Intake.DerivedBucket, Workers: c.services.ocrWorkers,
			Languages: c.services.ocrLanguages, Replicas: c.Replicas, CasePages: c.services.ocrCasePages},
			ocr.Deps{Log: d.log, Bus: d.bus, Blobs: d.blobs, Cases: d.cases})
		if err != nil {
			return nil, nil, err
		}
		runners = append(runners, svc)
	}
	if c.runs("packager") {
		d, err := depsOf(natsauth.Packager)
		if err != nil {
			return nil, nil, err
		}
		svc, err := packager.New(packager.Config{
			IntakeBucket: c.Intake.IntakeBucket, DerivedBucket: c.Intake.DerivedBucket, BundleBucket: c.services.bundleBucket,
			LinkExpiry: c.services.bundleLinkExpiry, QuietPeriod: c.services.quietPeriod, Workers: c.services.packagerWorkers,
			CleanupInterval: c.services.cleanupInterval, UploadMaxAge: c.services.bundleUploadMaxAge,
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
