package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/handoffmed/handoff/platform/record"
)

// junk are files a folder upload leaves out (what an OS leaves behind).
var junk = regexp.MustCompile(`(^|/)(\.DS_Store|Thumbs\.db|desktop\.ini|__MACOSX(/.*)?)$`)

// localFile is a file to upload and its path within the case.
type localFile struct {
	abs, path string
	size      int64
	mtime     time.Time
}

// collect walks the arguments: a file is uploaded under its name, a
// folder with its own name and everything below it (folders kept).
func collectUploads(args []string) ([]localFile, error) {
	var out []localFile
	for _, a := range args {
		fi, err := os.Stat(a)
		if err != nil {
			return nil, err
		}
		if !fi.IsDir() {
			out = append(out, localFile{abs: a, path: filepath.Base(a), size: fi.Size(), mtime: fi.ModTime()})
			continue
		}
		root := filepath.Clean(a)
		base := filepath.Base(root)
		if base == "." || base == "/" {
			abs, _ := filepath.Abs(root)
			base = filepath.Base(abs)
		}
		err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.Type().IsRegular() {
				return nil
			}
			rel, _ := filepath.Rel(root, p)
			cp := path.Join(base, filepath.ToSlash(rel))
			if junk.MatchString(cp) {
				return nil
			}
			info, err := d.Info()
			if err != nil {
				return err
			}
			out = append(out, localFile{abs: p, path: cp, size: info.Size(), mtime: info.ModTime()})
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].path < out[j].path })
	return out, nil
}

// uploadState remembers multipart uploads in progress, so that a rerun
// after an interruption continues them.
type uploadState struct {
	mu      sync.Mutex
	file    string
	Uploads map[string]multipartUpload `json:"uploads"` // case/path/size/mtime → the upload
}

func loadState(file string) *uploadState {
	s := &uploadState{file: file, Uploads: map[string]multipartUpload{}}
	if b, err := os.ReadFile(file); err == nil {
		_ = json.Unmarshal(b, s)
		if s.Uploads == nil {
			s.Uploads = map[string]multipartUpload{}
		}
	}
	return s
}

func stateKey(caseID string, f localFile) string {
	return fmt.Sprintf("%s/%s/%d/%d", caseID, f.path, f.size, f.mtime.UnixNano())
}

func (s *uploadState) get(k string) multipartUpload {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.Uploads[k]
}

// put remembers an upload (forgets it when up is zero).
func (s *uploadState) put(k string, up multipartUpload) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if up.UploadID == "" {
		delete(s.Uploads, k)
	} else {
		s.Uploads[k] = up
	}
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(s.file), 0o700); err != nil {
		return err
	}
	tmp := s.file + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, s.file)
}

func defaultStateFile() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		dir = os.TempDir()
	}
	return filepath.Join(dir, "handoff", "uploads.json")
}

// uploader sends files to a case.
type uploader struct {
	api       *apiClient
	caseID    string
	state     *uploadState
	prog      *progress
	multiFrom int64
	partsAt   int
	tries     int
	// transfer sends part bodies (no overall timeout: parts are large).
	transfer *http.Client
}

func runUpload(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cf := clientCommand("upload", "usage: handoff upload [flags] CASE_ID PATH…\n\nUploads files and folders (recursively, folders kept) to a case. Large files go\nstraight to S3 in parts; run the same command again after an interruption and\nit continues where it stopped. Exit status: 0 every file uploaded, 1 some failed, 2 usage.", stderr)
	jobs := fs.Int("jobs", 3, "files uploaded at once")
	partsAt := fs.Int("parts", 4, "parts of one large file sent at once")
	multiFrom := fs.Int64("multipart-from", 16<<20, "files of at least this many bytes go straight to S3 in parts (resumable)")
	stateFile := fs.String("state", envOr("HANDOFF_UPLOAD_STATE", defaultStateFile()), "where uploads in progress are remembered, so that a rerun continues them (env HANDOFF_UPLOAD_STATE)")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) < 2 || !record.ValidID(pos[0]) {
		fs.Usage()
		return usageError{"upload takes a CASE_ID and one or more files or folders"}
	}
	files, err := collectUploads(pos[1:])
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return errors.New("nothing to upload: the folders are empty")
	}
	a, err := cf.client()
	if err != nil {
		return err
	}
	// The case must exist and the token work before any byte is sent.
	if err := a.do(ctx, http.MethodGet, "/v1/cases/"+pos[0], "application/json", nil, nil); err != nil {
		return err
	}
	u := &uploader{api: a, caseID: pos[0], state: loadState(*stateFile), prog: newProgress(stdout), multiFrom: *multiFrom,
		partsAt: max(*partsAt, 1), tries: 6, transfer: &http.Client{Transport: a.transport}}
	tasks := make([]*task, len(files))
	for i, f := range files {
		tasks[i] = u.prog.add(f.path, f.size)
	}
	work := make(chan int)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failed []string
	for range max(*jobs, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				if err := u.one(ctx, files[i], tasks[i]); err != nil {
					u.prog.finish(tasks[i], "failed", err.Error())
					u.prog.line("failed   %s: %v", files[i].path, err)
					mu.Lock()
					failed = append(failed, files[i].path)
					mu.Unlock()
					continue
				}
				u.prog.finish(tasks[i], "done", "")
				u.prog.line("uploaded %s (%s)", files[i].path, humanSize(files[i].size))
			}
		}()
	}
	for i := range files {
		select {
		case work <- i:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
	}
	close(work)
	wg.Wait()
	u.prog.close()
	var total int64
	for _, f := range files {
		total += f.size
	}
	if ctx.Err() != nil {
		return fmt.Errorf("interrupted: run the same command again to continue: %w", ctx.Err())
	}
	if len(failed) > 0 {
		return fmt.Errorf("%d of %d files failed (%s); run the same command again to retry them", len(failed), len(files), strings.Join(failed, ", "))
	}
	fmt.Fprintf(stdout, "%d files (%s) uploaded to case %s\n", len(files), humanSize(total), u.caseID)
	return nil
}

func escapePath(p string) string { return (&url.URL{Path: p}).EscapedPath() }

// transient reports whether retrying may help.
func transient(err error) bool {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae.Status >= 500 || ae.Status == http.StatusTooManyRequests || ae.Status == http.StatusRequestTimeout
	}
	return !errors.Is(err, context.Canceled)
}

func (u *uploader) retry(ctx context.Context, what string, fn func() error) error {
	var err error
	for attempt := 1; attempt <= u.tries; attempt++ {
		if err = fn(); err == nil || !transient(err) || ctx.Err() != nil {
			return err
		}
		if attempt < u.tries {
			u.prog.line("retrying %s (attempt %d of %d): %v", what, attempt+1, u.tries, shortErr(err))
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Duration(attempt) * 500 * time.Millisecond):
			}
		}
	}
	return err
}

func shortErr(err error) string {
	s := err.Error()
	if i := strings.LastIndex(s, ": "); i > 0 && len(s) > 120 {
		return s[i+2:]
	}
	return s
}

func (u *uploader) one(ctx context.Context, f localFile, t *task) error {
	if f.size >= u.multiFrom {
		return u.multipart(ctx, f, t)
	}
	return u.retry(ctx, f.path, func() error {
		u.prog.set(t, 0)
		fh, err := os.Open(f.abs)
		if err != nil {
			return err
		}
		defer fh.Close()
		body := &countingReader{r: fh, fn: func(n int64) { u.prog.advance(t, n) }}
		req, err := u.api.request(ctx, http.MethodPut, "/v1/cases/"+u.caseID+"/files/"+escapePath(f.path), body)
		if err != nil {
			return err
		}
		req.ContentLength = f.size
		if f.size == 0 {
			req.Body = http.NoBody
		}
		resp, err := u.transfer.Do(req)
		if err != nil {
			return u.api.netError(http.MethodPut, "/v1/cases/…/files/…", err)
		}
		defer resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			return u.api.problemError(resp)
		}
		return nil
	})
}

type multipartUpload struct {
	UploadID string `json:"upload_id"`
	PartSize int64  `json:"part_size"`
	Parts    int    `json:"parts"`
}

type storedPart struct {
	Number int   `json:"number"`
	Size   int64 `json:"size"`
}

func (u *uploader) multipart(ctx context.Context, f localFile, t *task) error {
	key := stateKey(u.caseID, f)
	base := "/v1/cases/" + u.caseID + "/multipart"
	var up multipartUpload
	stored := map[int]int64{}
	if saved := u.state.get(key); saved.UploadID != "" && saved.PartSize > 0 {
		id := saved.UploadID
		var got struct {
			Parts []storedPart `json:"parts"`
		}
		err := u.retry(ctx, f.path, func() error {
			return u.api.json(ctx, http.MethodGet, base+"?path="+url.QueryEscape(f.path)+"&upload_id="+url.QueryEscape(id), nil, &got)
		})
		var ae *apiError
		switch {
		case err == nil:
			up = saved
			for _, p := range got.Parts {
				stored[p.Number] = p.Size
			}
		case errors.As(err, &ae) && ae.Status == http.StatusNotFound:
			_ = u.state.put(key, multipartUpload{})
		default:
			return err
		}
	}
	var created multipartUpload
	if up.UploadID == "" {
		err := u.retry(ctx, f.path, func() error {
			return u.api.json(ctx, http.MethodPost, base, map[string]any{"path": f.path, "size": f.size}, &created)
		})
		if err != nil {
			return err
		}
		up = created
		if err := u.state.put(key, up); err != nil {
			return fmt.Errorf("remember the upload: %w", err)
		}
	}
	size := func(n int) int64 { return min(up.PartSize, f.size-int64(n-1)*up.PartSize) }
	var todo []int
	var have int64
	for n := 1; n <= up.Parts; n++ {
		if stored[n] == size(n) {
			have += size(n)
			continue
		}
		todo = append(todo, n)
	}
	if len(stored) > 0 {
		u.prog.line("resuming %s: %d of %d parts already stored", f.path, up.Parts-len(todo), up.Parts)
	}
	u.prog.set(t, have)
	fh, err := os.Open(f.abs)
	if err != nil {
		return err
	}
	defer fh.Close()
	work := make(chan int)
	errs := make(chan error, len(todo))
	var wg sync.WaitGroup
	for range min(u.partsAt, max(len(todo), 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range work {
				errs <- u.part(ctx, fh, f, up, n, size(n), t)
			}
		}()
	}
	var first error
	for _, n := range todo {
		select {
		case err := <-errs:
			if err != nil && first == nil {
				first = err
			}
		default:
		}
		if first != nil || ctx.Err() != nil {
			break
		}
		work <- n
	}
	close(work)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil && first == nil {
			first = err
		}
	}
	if first != nil {
		return first
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	err = u.retry(ctx, f.path, func() error {
		return u.api.json(ctx, http.MethodPost, base+"/complete", map[string]any{"path": f.path, "upload_id": up.UploadID, "size": f.size}, nil)
	})
	if err != nil {
		return err
	}
	return u.state.put(key, multipartUpload{})
}

// part sends one part to its presigned URL, asking for a fresh URL on each try.
func (u *uploader) part(ctx context.Context, fh *os.File, f localFile, up multipartUpload, n int, size int64, t *task) error {
	return u.retry(ctx, fmt.Sprintf("%s part %d", f.path, n), func() error {
		var urls struct {
			URLs []struct {
				URL string `json:"url"`
			} `json:"urls"`
		}
		err := u.api.json(ctx, http.MethodPost, "/v1/cases/"+u.caseID+"/multipart/parts",
			map[string]any{"path": f.path, "upload_id": up.UploadID, "numbers": []int{n}}, &urls)
		if err != nil {
			return err
		}
		if len(urls.URLs) != 1 {
			return errors.New("the API gave no URL for the part")
		}
		var sent int64
		body := &countingReader{r: io.NewSectionReader(fh, int64(n-1)*up.PartSize, size), fn: func(k int64) { sent += k; u.prog.advance(t, k) }}
		req, err := http.NewRequestWithContext(ctx, http.MethodPut, urls.URLs[0].URL, body)
		if err != nil {
			return err
		}
		req.ContentLength = size
		resp, err := u.transfer.Do(req)
		if err == nil {
			defer resp.Body.Close()
			if resp.StatusCode/100 != 2 {
				b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
				err = &apiError{Status: resp.StatusCode, Detail: "the object store refused the part: " + strings.TrimSpace(string(b))}
			}
		} else {
			err = fmt.Errorf("the connection to the object store was lost: %w", err)
		}
		if err != nil {
			u.prog.advance(t, -sent) // sent again on the next try
		}
		return err
	})
}
