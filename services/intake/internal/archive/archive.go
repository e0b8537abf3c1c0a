// Package archive expands uploaded ZIPs (portal exports, imaging CDs,
// folders zipped by the patient) safely: every entry becomes a file of the
// case, ingested like an upload; unsafe archives and bombs are rejected
// with a specific code before anything is written.
package archive

import (
	"archive/zip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"path"
	"strings"

	"golang.org/x/text/encoding/charmap"

	"github.com/handoffmed/handoff/platform/blob"
	"github.com/handoffmed/handoff/platform/budget"
	"github.com/handoffmed/handoff/platform/bus"
	"github.com/handoffmed/handoff/platform/casestore"
	"github.com/handoffmed/handoff/platform/event"
	"github.com/handoffmed/handoff/platform/record"
	"github.com/handoffmed/handoff/platform/sniff"
	"github.com/handoffmed/handoff/platform/stage"
	"github.com/handoffmed/handoff/services/intake/internal/ingest"
)

// Limits bound what one archive may expand to, and what the archives of
// one case may expand to together. Zero fields take defaults.
type Limits struct {
	MaxEntries   int   // entries in one archive (default 20,000)
	MaxTotal     int64 // bytes expanded from one archive (default 8 GiB)
	MaxEntrySize int64 // bytes of one entry (default 4 GiB)
	MaxRatio     int64 // expanded:compressed for entries over 1 MiB (default 200)
	MaxDepth     int   // archives inside archives (default 3)
	// CaseEntries and CaseBytes are each case's budget: entries and bytes
	// expanded from all its archives, nested ones included (default 60,000
	// and 40 GiB; negative: no budget).
	CaseEntries int
	CaseBytes   int64
}

func (l Limits) withDefaults() Limits {
	if l.MaxEntries == 0 {
		l.MaxEntries = 20000
	}
	if l.MaxTotal == 0 {
		l.MaxTotal = 8 << 30
	}
	if l.MaxEntrySize == 0 {
		l.MaxEntrySize = 4 << 30
	}
	if l.MaxRatio == 0 {
		l.MaxRatio = 200
	}
	if l.MaxDepth == 0 {
		l.MaxDepth = 3
	}
	if l.CaseEntries == 0 {
		l.CaseEntries = 60000
	}
	if l.CaseBytes == 0 {
		l.CaseBytes = 40 << 30
	}
	return l
}

// budgeter charges a case's budget once per file revision.
type budgeter interface {
	TakeAll(ctx context.Context, c budget.Charge, want, limits budget.Amounts) (bool, error)
}

type ingester interface {
	Ingest(ctx context.Context, o ingest.Object, from ingest.Origin) (record.File, error)
}

// Expander handles archive work items.
type Expander struct {
	log     *slog.Logger
	blobs   *blob.Store
	cases   *casestore.Store
	tracker stage.Tracker
	ingest  ingester
	derived string
	limits  Limits
	usage   budgeter
}

// New returns an Expander writing entries to the derived bucket, charging
// each case's archive budget in usage.
func New(log *slog.Logger, b *blob.Store, cases *casestore.Store, t stage.Tracker, in ingester, derivedBucket string, l Limits, usage budgeter) *Expander {
	return &Expander{log: log, blobs: b, cases: cases, tracker: t, ingest: in, derived: derivedBucket, limits: l.withDefaults(), usage: usage}
}

const stageName = "archive"

// Handle expands the archive of one work item. It is idempotent: entries
// already written are not written again, and ingestion dedups.
func (e *Expander) Handle(ctx context.Context, m *bus.Msg) error {
	var w event.FileWork
	if err := m.Decode(&w); err != nil {
		return err
	}
	ref := w.FileRef
	f, err := e.tracker.Start(ctx, ref, stageName)
	if errors.Is(err, stage.ErrStale) {
		return nil
	}
	if err != nil {
		return err
	}
	if record.Terminal(f.Status) {
		return nil
	}
	if depth, err := e.depth(ctx, f); err != nil {
		return err
	} else if depth >= e.limits.MaxDepth {
		return e.fail(ctx, ref, record.CodeArchiveBomb, fmt.Sprintf("archives nested more than %d deep", e.limits.MaxDepth))
	}
	ra := e.blobs.NewReaderAt(ctx, ref.Bucket, ref.Key, ref.Size)
	zr, err := zip.NewReader(ra, ra.Size())
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		if isNetwork(ctx, err) {
			return err
		}
		return e.fail(ctx, ref, record.CodeUnreadable, "not a readable ZIP archive")
	}
	entries, rej := Plan(zr.File, e.limits)
	if rej != nil {
		return e.fail(ctx, ref, rej.Code, rej.Message)
	}
	if ok, err := e.withinBudget(ctx, ref, entries); err != nil {
		return err
	} else if !ok {
		return e.fail(ctx, ref, record.CodeCaseArchiveBudget, e.budgetMessage())
	}
	sum := record.Archive{Skipped: len(zr.File) - len(entries), ImagingCD: imagingCD(entries), XDM: XDM(entries)}
	for _, en := range entries {
		kept, err := e.expand(ctx, f, en, &sum)
		if err != nil {
			var re *record.Error
			if errors.As(err, &re) {
				return e.fail(ctx, ref, re.Code, re.Message)
			}
			return err
		}
		if !kept {
			sum.Skipped++
		}
	}
	_, err = e.tracker.Done(ctx, ref, stageName, func(f *record.File) {
		a := sum
		f.Archive = &a
		f.Type, f.Route = record.TypeZIP, record.RouteArchive
	})
	if errors.Is(err, stage.ErrStale) {
		// Uploaded again while it was expanded: the entries written for this
		// revision belong to no live file.
		return ingest.SupersedeEntries(ctx, e.cases, ref.CaseID, ref.FileID, func(en record.File) bool { return en.ParentETag == ref.ETag })
	}
	if err != nil {
		return err
	}
	// Uploaded again just after: the new revision's recording superseded
	// the entries written until then; those written after are this
	// revision's to supersede.
	if cur, gerr := e.cases.File(ctx, ref.CaseID, ref.FileID); gerr == nil && cur.ETag != ref.ETag {
		return ingest.SupersedeEntries(ctx, e.cases, ref.CaseID, ref.FileID, func(en record.File) bool { return en.ParentETag == ref.ETag })
	}
	e.log.Info("archive expanded", "case_id", ref.CaseID, "file_id", ref.FileID, "entries", sum.Entries, "skipped", sum.Skipped, "bytes", sum.Expanded)
	return nil
}

// withinBudget charges an archive's entries and their bytes to its case's
// budget (all or nothing, once per file revision) and reports whether they
// fit.
func (e *Expander) withinBudget(ctx context.Context, ref event.FileRef, entries []Entry) (bool, error) {
	var size int64
	for _, en := range entries {
		size += int64(en.File.UncompressedSize64)
	}
	limits := budget.Amounts{}
	if e.limits.CaseEntries > 0 {
		limits[budget.ArchiveEntries] = int64(e.limits.CaseEntries)
	}
	if e.limits.CaseBytes > 0 {
		limits[budget.ArchiveBytes] = e.limits.CaseBytes
	}
	c := budget.Charge{CaseID: ref.CaseID, Purpose: "archive", FileID: ref.FileID, ETag: ref.ETag}
	ok, err := e.usage.TakeAll(ctx, c, budget.Amounts{budget.ArchiveEntries: int64(len(entries)), budget.ArchiveBytes: size}, limits)
	if err != nil {
		return false, fmt.Errorf("archive budget: %w", err)
	}
	return ok, nil
}

func (e *Expander) budgetMessage() string {
	var parts []string
	if e.limits.CaseEntries > 0 {
		parts = append(parts, fmt.Sprintf("%d files", e.limits.CaseEntries))
	}
	if e.limits.CaseBytes > 0 {
		parts = append(parts, sizeWords(e.limits.CaseBytes))
	}
	return "the case's archives together would expand to more than its budget of " + strings.Join(parts, " or ") + "; nothing of this archive is expanded"
}

// Entry is one archive member to expand.
type Entry struct {
	File *zip.File
	Path string // cleaned, "/"-separated, relative
}

// Plan checks an archive's directory before anything is expanded and
// returns the entries to expand, or why the whole archive is rejected.
func Plan(files []*zip.File, l Limits) ([]Entry, *record.Error) {
	l = l.withDefaults()
	if len(files) > l.MaxEntries {
		return nil, &record.Error{Code: record.CodeArchiveBomb, Message: fmt.Sprintf("the archive has %d entries; at most %d are accepted", len(files), l.MaxEntries)}
	}
	var total uint64
	var out []Entry
	for _, f := range files {
		name := entryName(f)
		if f.Mode()&fs.ModeSymlink != 0 {
			return nil, &record.Error{Code: record.CodeUnsafeArchive, Message: "the archive holds a symbolic link"}
		}
		if unsafePath(name) {
			return nil, &record.Error{Code: record.CodeUnsafeArchive, Message: "an entry's path leaves the archive's folder (absolute path or ..)"}
		}
		if f.FileInfo().IsDir() || strings.HasSuffix(name, "/") {
			continue
		}
		if f.Flags&0x1 != 0 {
			return nil, &record.Error{Code: record.CodeEncrypted, Message: "the archive is password-protected"}
		}
		if f.UncompressedSize64 > uint64(l.MaxEntrySize) {
			return nil, &record.Error{Code: record.CodeArchiveBomb, Message: fmt.Sprintf("an entry expands to %d bytes; at most %d are accepted", f.UncompressedSize64, l.MaxEntrySize)}
		}
		if f.UncompressedSize64 > 1<<20 && f.UncompressedSize64 > uint64(l.MaxRatio)*max(f.CompressedSize64, 1) {
			return nil, &record.Error{Code: record.CodeArchiveBomb, Message: fmt.Sprintf("an entry expands more than %d times its compressed size", l.MaxRatio)}
		}
		total += f.UncompressedSize64
		if total > uint64(l.MaxTotal) {
			return nil, &record.Error{Code: record.CodeArchiveBomb, Message: fmt.Sprintf("the archive expands to more than %d bytes", l.MaxTotal)}
		}
		if junk(name) {
			continue
		}
		out = append(out, Entry{File: f, Path: cleanEntry(name)})
	}
	return out, nil
}

// expand writes one entry to the derived bucket (unless a previous delivery
// did) and ingests it. It reports false for entries it skipped by content.
func (e *Expander) expand(ctx context.Context, parent record.File, en Entry, sum *record.Archive) (bool, error) {
	head, err := e.head(en.File)
	if err != nil {
		return false, &record.Error{Code: record.CodeUnreadable, Message: "an entry of the archive cannot be decompressed"}
	}
	switch typ := sniff.Detect(head); {
	case typ == sniff.TypeExecutable:
		return false, nil // viewer software
	case sum.ImagingCD && typ != record.TypeDICOM && typ != record.TypeDICOMDIR && typ != record.TypePDF:
		return false, nil // an imaging CD's viewer, icons and help pages
	case sum.XDM && XDMPackaging(en.Path):
		return false, nil // an XDM package's metadata, index page and stylesheet
	}
	key := record.ArchiveEntryKey(parent.CaseID, parent.ID, parent.ETag, en.Path)
	size := int64(en.File.UncompressedSize64)
	st, err := e.blobs.Stat(ctx, e.derived, key)
	if err != nil || st.Size != size {
		if err != nil && !errors.Is(err, blob.ErrNotFound) {
			return false, err
		}
		rc, err := en.File.Open()
		if err != nil {
			return false, &record.Error{Code: record.CodeUnreadable, Message: "an entry of the archive cannot be decompressed"}
		}
		st, err = e.blobs.Put(ctx, e.derived, key, rc, size, blob.PutOptions{Metadata: map[string]string{"archive-id": parent.ID}})
		_ = rc.Close()
		if err != nil {
			if errors.Is(err, zip.ErrChecksum) || errors.Is(err, zip.ErrFormat) || errors.Is(err, io.ErrUnexpectedEOF) {
				return false, &record.Error{Code: record.CodeUnreadable, Message: "an entry of the archive is corrupt"}
			}
			return false, err
		}
	}
	sum.Entries++
	sum.Expanded += size
	_, err = e.ingest.Ingest(ctx, ingest.Object{Bucket: e.derived, Key: key, ETag: st.ETag, Size: st.Size, Type: ingest.Sniffed(head, st.Size)},
		ingest.Origin{Source: record.SourceArchive, ParentID: parent.ID, ParentETag: parent.ETag, CaseID: parent.CaseID, Path: parent.Path + "!/" + en.Path})
	return true, err
}

func (e *Expander) head(f *zip.File) ([]byte, error) {
	rc, err := f.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, sniff.HeadSize))
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, err
	}
	return b, nil
}

// depth counts the archives above f.
func (e *Expander) depth(ctx context.Context, f record.File) (int, error) {
	d := 0
	for id := f.ParentID; id != "" && d <= e.limits.MaxDepth; d++ {
		p, err := e.cases.File(ctx, f.CaseID, id)
		if errors.Is(err, casestore.ErrNotFound) {
			break
		}
		if err != nil {
			return 0, err
		}
		id = p.ParentID
	}
	return d, nil
}

func (e *Expander) fail(ctx context.Context, ref event.FileRef, code, msg string) error {
	e.log.Info("archive rejected", "case_id", ref.CaseID, "file_id", ref.FileID, "code", code)
	_, err := e.tracker.Fail(ctx, ref, stageName, &record.Error{Code: code, Message: msg})
	if errors.Is(err, stage.ErrStale) {
		return nil
	}
	return err
}

// isNetwork tells an S3 failure (retry) from a bad archive (reject).
func isNetwork(ctx context.Context, err error) bool {
	var ne interface{ Timeout() bool }
	return ctx.Err() != nil || errors.As(err, &ne) || strings.Contains(err.Error(), "connection")
}

// entryName is the entry's name as UTF-8: names without the UTF-8 flag that
// are not valid UTF-8 are code page 437, as PKZIP wrote them.
func entryName(f *zip.File) string {
	name := f.Name
	if f.NonUTF8 {
		if s, err := charmap.CodePage437.NewDecoder().String(name); err == nil {
			name = s
		}
	}
	return strings.ReplaceAll(name, "\\", "/")
}

// unsafePath reports names that would leave the archive's folder.
func unsafePath(name string) bool {
	if strings.HasPrefix(name, "/") || strings.HasPrefix(name, "//") || len(name) >= 2 && name[1] == ':' {
		return true
	}
	for _, p := range strings.Split(name, "/") {
		if p == ".." {
			return true
		}
	}
	return strings.ContainsRune(name, 0)
}

// cleanEntry makes an entry path safe as an object key suffix.
func cleanEntry(name string) string {
	p, _ := ingest.CleanName(path.Clean("/" + name))
	return p
}

// imagingCD reports whether an archive is an imaging CD or USB drive (it
// holds a DICOMDIR): then only images and reports are kept.
func imagingCD(entries []Entry) bool {
	for _, en := range entries {
		if strings.EqualFold(path.Base(en.Path), "DICOMDIR") {
			return true
		}
	}
	return false
}

// XDM reports whether an archive is an IHE XDM package (ITI TF-1 16, the
// ZIP a patient portal exports): an IHE_XDM folder whose submission set
// folders hold a METADATA.XML beside the documents (SUBSET01/DOC0001.XML).
func XDM(entries []Entry) bool {
	meta, doc := false, false
	for _, en := range entries {
		dir, base, ok := xdmMember(en.Path)
		if !ok || dir == "" {
			continue
		}
		if base == "METADATA.XML" {
			meta = true
		} else {
			doc = true
		}
	}
	return meta && doc
}

// xdmMember splits a path under IHE_XDM/ (at any depth) into its
// submission set folder and its base name, upper case.
func xdmMember(p string) (dir, base string, ok bool) {
	up := strings.ToUpper(p)
	i := strings.Index("/"+up, "/IHE_XDM/")
	if i < 0 {
		return "", "", false
	}
	rest := up[i+len("IHE_XDM/"):]
	dir, base = path.Split(rest)
	return strings.TrimSuffix(dir, "/"), base, true
}

// XDMPackaging reports the entries of an XDM package that are its
// packaging, not records: the submission metadata, the index page, read-me
// files and stylesheets. The documents (DOC0001.XML, and any PDF or other
// document the subset holds) are ingested.
func XDMPackaging(p string) bool {
	base := strings.ToUpper(path.Base(p))
	switch {
	case base == "METADATA.XML", base == "INDEX.HTM", base == "INDEX.HTML", strings.HasPrefix(base, "README"):
		return true
	}
	switch path.Ext(base) {
	case ".XSL", ".XSLT", ".CSS":
		return true
	}
	return false
}

// junk reports entries that are never medical records: OS metadata.
func junk(name string) bool {
	base := strings.ToLower(path.Base(name))
	if strings.HasPrefix(name, "__MACOSX/") || strings.Contains(name, "/__MACOSX/") || strings.HasPrefix(base, "._") {
		return true
	}
	switch base {
	case ".ds_store", "thumbs.db", "desktop.ini", "autorun.inf", ".directory":
		return true
	}
	switch path.Ext(base) {
	case ".exe", ".dll", ".msi", ".bat", ".cmd", ".com", ".sys", ".ocx", ".jar", ".dylib", ".so", ".lnk", ".ico", ".cab", ".inf":
		return true
	}
	return false
}

// sizeWords says a byte count in GiB when it is whole, else in MiB.
func sizeWords(b int64) string {
	if b%(1<<30) == 0 {
		return fmt.Sprintf("%d GiB", b>>30)
	}
	return fmt.Sprintf("%d MiB", b>>20)
}
