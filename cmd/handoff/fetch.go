package main

import (
	"archive/zip"
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/handoffmed/handoff/platform/record"
)

// errCorrupt is a download that does not match its checksums.
var errCorrupt = errors.New("the bundle is corrupted")

func runFetch(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cf := clientCommand("fetch", "usage: handoff fetch [flags] CASE_ID [DIR]\n\nDownloads a case's bundle into DIR (default: the current directory), checks\nits SHA-256 against the bundle's record and every file in it against its\nSHA256SUMS. A case without a bundle gets one made first.\nExit status: 0 downloaded and verified, 1 failed or corrupted, 2 usage.", stderr)
	version := fs.Int("version", 0, "the bundle version (default: the newest)")
	wait := fs.Duration("wait", 10*time.Minute, "how long to wait for a bundle when the case has none yet (it is requested)")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) < 1 || len(pos) > 2 || !record.ValidID(pos[0]) {
		fs.Usage()
		return usageError{"fetch takes a CASE_ID and an optional DIR"}
	}
	dir := "."
	if len(pos) == 2 {
		dir = pos[1]
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	a, err := cf.client()
	if err != nil {
		return err
	}
	caseID := pos[0]
	c := bundleClient{a}
	b, err := pickBundle(ctx, c, caseID, *version)
	if err != nil {
		return err
	}
	if b == nil {
		fmt.Fprintf(stderr, "case %s has no bundle yet; requesting one…\n", caseID)
		wctx, cancel := context.WithTimeout(ctx, *wait)
		defer cancel()
		if err := c.do(wctx, http.MethodPost, "/v1/cases/"+caseID+"/bundle", nil); err != nil {
			return fmt.Errorf("request bundle: %w", err)
		}
		for b == nil {
			select {
			case <-wctx.Done():
				return fmt.Errorf("no bundle after %s: %w", *wait, wctx.Err())
			case <-time.After(500 * time.Millisecond):
			}
			if b, err = pickBundle(wctx, c, caseID, 0); err != nil {
				return err
			}
		}
	}
	link, err := c.link(ctx, caseID, b.Version)
	if err != nil {
		return err
	}
	dest := filepath.Join(dir, b.Name)
	if err := download(ctx, &http.Client{Transport: a.transport}, link, dest, b, newProgress(stdout)); err != nil {
		return err
	}
	n, err := verifyZip(dest)
	if err != nil {
		return fmt.Errorf("%w: %s: %w (delete it and fetch again)", errCorrupt, dest, err)
	}
	fmt.Fprintf(stdout, "%s: version %d, %s, sha256 %s verified; %d files match SHA256SUMS\n", dest, b.Version, humanSize(b.Size), b.SHA256, n)
	return nil
}

// pickBundle returns the wanted (or newest) live bundle; nil when none.
func pickBundle(ctx context.Context, c bundleClient, caseID string, version int) (*record.Bundle, error) {
	bs, err := c.bundles(ctx, caseID)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	for i := len(bs) - 1; i >= 0; i-- {
		b := bs[i]
		if version != 0 && b.Version != version {
			continue
		}
		if !b.Revoked.IsZero() {
			if version != 0 {
				return nil, fmt.Errorf("bundle version %d of case %s was revoked", version, caseID)
			}
			continue
		}
		if b.Live(now) {
			return &b, nil
		}
	}
	if version != 0 {
		return nil, fmt.Errorf("case %s has no bundle version %d that can be downloaded", caseID, version)
	}
	return nil, nil
}

// download saves the link's bytes to dest, checking size and SHA-256
// against the bundle's record; a mismatch keeps nothing.
func download(ctx context.Context, hc *http.Client, link, dest string, b *record.Bundle, prog *progress) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, link, nil)
	if err != nil {
		return err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("download %s: %w", b.Name, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("download %s: the object store answered %s", b.Name, resp.Status)
	}
	tmp := dest + ".part"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	t := prog.add(b.Name, b.Size)
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), &countingReader{r: resp.Body, fn: func(k int64) { prog.advance(t, k) }})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		prog.finish(t, "failed", err.Error())
		prog.close()
		return fmt.Errorf("download %s: %w", b.Name, err)
	}
	prog.finish(t, "done", "")
	prog.close()
	sum := hex.EncodeToString(h.Sum(nil))
	if n != b.Size || sum != b.SHA256 {
		return fmt.Errorf("%w: %s: got %d bytes with sha256 %s, the bundle's record says %d bytes with sha256 %s; fetch again",
			errCorrupt, b.Name, n, sum, b.Size, b.SHA256)
	}
	return os.Rename(tmp, dest)
}

// verifyZip checks every file its SHA256SUMS lists (and that it lists
// every file) and returns how many it checked.
func verifyZip(file string) (int, error) {
	zr, err := zip.OpenReader(file)
	if err != nil {
		return 0, fmt.Errorf("not a readable ZIP: %w", err)
	}
	defer zr.Close()
	var sums *zip.File
	entries := map[string]*zip.File{}
	for _, f := range zr.File {
		if strings.HasSuffix(f.Name, "/") {
			continue
		}
		if path.Base(f.Name) == "SHA256SUMS" && strings.Count(f.Name, "/") == 1 {
			sums = f
			continue
		}
		entries[f.Name] = f
	}
	if sums == nil {
		return 0, errors.New("it has no SHA256SUMS")
	}
	root := path.Dir(sums.Name)
	rc, err := sums.Open()
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	sc := bufio.NewScanner(rc)
	listed := map[string]bool{}
	for sc.Scan() {
		want, name, ok := strings.Cut(sc.Text(), "  ")
		if !ok {
			continue
		}
		name = root + "/" + strings.TrimPrefix(name, "*")
		f := entries[name]
		if f == nil {
			return 0, fmt.Errorf("%s is listed in SHA256SUMS but missing", name)
		}
		r, err := f.Open()
		if err != nil {
			return 0, fmt.Errorf("%s: %w", name, err)
		}
		h := sha256.New()
		_, err = io.Copy(h, r)
		r.Close()
		if err != nil {
			return 0, fmt.Errorf("%s: %w", name, err)
		}
		if hex.EncodeToString(h.Sum(nil)) != want {
			return 0, fmt.Errorf("%s does not match SHA256SUMS", name)
		}
		listed[name] = true
	}
	return len(listed), sc.Err()
}
