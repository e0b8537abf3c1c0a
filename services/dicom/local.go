package dicom

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/handoffmed/handoff/platform/record"
)

// LocalOptions configure IndexLocal; the zero value means the defaults.
type LocalOptions struct {
	Read ReadOptions
	// Workers is the number of files read at once (default GOMAXPROCS).
	Workers int
	// CaseID and Patient are used for the index and its patient check.
	CaseID  string
	Patient record.Patient
	// Now stamps the index (default time.Now).
	Now func() time.Time
}

// LocalFile is one file of a local index run.
type LocalFile struct {
	Path   string
	FileID string
	Size   int64
	Header *Header // nil when Err is set
	Err    error   // a *record.Error
}

// LocalIndex is the result of indexing files on disk.
type LocalIndex struct {
	Index record.DicomIndex
	Files []LocalFile
	// Instances maps file IDs to what was read from them.
	Instances map[string]record.DicomInstance
	// BytesRead is the total number of bytes read from the files.
	BytesRead int64
	// Bytes is the total size of the files.
	Bytes int64
	// MaxReadAhead is the most bytes read past where a header's reading stopped.
	MaxReadAhead int64
}

// IndexLocal indexes DICOM files and folders (walked recursively) from their
// headers. A file that cannot be indexed is listed with its error; only a
// failure to walk a folder is returned as an error.
func IndexLocal(ctx context.Context, paths []string, opt LocalOptions) (*LocalIndex, error) {
	var files []LocalFile
	for _, p := range paths {
		err := filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.Type().IsRegular() {
				return nil
			}
			abs, err := filepath.Abs(path)
			if err != nil {
				return err
			}
			files = append(files, LocalFile{Path: path, FileID: record.FileID("local", abs)})
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("walk %s: %w", p, err)
		}
	}
	workers := opt.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	var next, read atomic.Int64
	var wg sync.WaitGroup
	for range min(workers, max(len(files), 1)) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(files) || ctx.Err() != nil {
					return
				}
				f := &files[i]
				f.Header, f.Size, f.Err = readFile(f.Path, opt.Read)
				if f.Header != nil {
					read.Add(f.Header.Instance.HeaderBytes)
				}
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out := &LocalIndex{Files: files, Instances: map[string]record.DicomInstance{}, BytesRead: read.Load()}
	var items []Item
	for _, f := range files {
		out.Bytes += f.Size
		if f.Header != nil && f.Header.HeaderEnd >= 0 {
			out.MaxReadAhead = max(out.MaxReadAhead, f.Header.Instance.HeaderBytes-f.Header.HeaderEnd)
		}
		if f.Err != nil || f.Header == nil || f.Header.DICOMDIR {
			continue
		}
		out.Instances[f.FileID] = f.Header.Instance
		items = append(items, Item{FileID: f.FileID, Bucket: "", Key: f.Path, Size: f.Size, Instance: f.Header.Instance})
	}
	now := time.Now
	if opt.Now != nil {
		now = opt.Now
	}
	out.Index = BuildIndex(opt.CaseID, opt.Patient, items, now())
	for _, f := range files {
		if f.Err != nil {
			out.Index.Unreadable = append(out.Index.Unreadable, f.FileID)
		}
	}
	slices.Sort(out.Index.Unreadable)
	return out, nil
}

// readFile reads one file's header.
func readFile(path string, opt ReadOptions) (*Header, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, &record.Error{Code: record.CodeUnreadable, Message: "cannot open the file"}
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, 0, &record.Error{Code: record.CodeUnreadable, Message: "cannot stat the file"}
	}
	if st.Size() == 0 {
		return nil, 0, &record.Error{Code: record.CodeEmpty, Message: "the file is empty"}
	}
	h, err := Read(f, st.Size(), opt)
	if err != nil {
		var re *record.Error
		if !errors.As(err, &re) {
			err = &record.Error{Code: record.CodeUnreadable, Message: err.Error()}
		}
		return nil, st.Size(), err
	}
	return h, st.Size(), nil
}
