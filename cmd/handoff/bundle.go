package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/handoffmed/handoff/platform/record"
)

// runBundle asks a running `handoff serve` for a case's bundle, waits for
// it, and prints its download link (a presigned URL that expires).
//
//	handoff bundle [-api URL] [-wait 5m] CASE_ID
func runBundle(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cf := clientCommand("bundle", "", stderr)
	wait := fs.Duration("wait", 10*time.Minute, "how long to wait for the bundle")
	asJSON := fs.Bool("json", false, "print the bundle record as JSON with its link")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || !record.ValidID(pos[0]) {
		return usageError{"usage: handoff bundle [-api URL] [-wait D] CASE_ID"}
	}
	caseID := pos[0]
	a, err := cf.client()
	if err != nil {
		return err
	}
	c := bundleClient{a}
	ctx, cancel := context.WithTimeout(ctx, *wait)
	defer cancel()

	before, err := c.bundles(ctx, caseID)
	if err != nil {
		return err
	}
	start := time.Now()
	if err := c.do(ctx, http.MethodPost, "/v1/cases/"+caseID+"/bundle", nil); err != nil {
		return fmt.Errorf("request bundle: %w", err)
	}
	fmt.Fprintf(stderr, "bundle requested for case %s\n", caseID)
	st := newStatus(stderr)
	var got record.Bundle
	var reason string
	for {
		// One read of the case: its bundles, and what a bundle waits on.
		w, err := c.waiting(ctx, caseID)
		if err != nil {
			return err
		}
		reason = w.String()
		st.show(reason)
		bs := w.bundles
		if len(bs) > len(before) {
			got = bs[len(bs)-1]
			st.done()
			break
		}
		// Nothing changed since the newest bundle: the packager answers the
		// request with that one, so once the case has nothing pending it is
		// the answer.
		if len(bs) > 0 && time.Since(start) > 15*time.Second && w.pending == 0 {
			got = bs[len(bs)-1]
			st.done()
			fmt.Fprintf(stderr, "nothing changed since version %d\n", got.Version)
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("no bundle after %s: still %s", *wait, reason)
		case <-time.After(500 * time.Millisecond):
		}
	}
	link, err := c.link(ctx, caseID, got.Version)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			record.Bundle
			Link string `json:"link"`
		}{got, link})
	}
	fmt.Fprintf(stdout, "%s\nversion %d, %d bytes, sha256 %s, link expires by %s\n%s\n",
		got.Name, got.Version, got.Size, got.SHA256, got.Expires.Format(time.RFC3339), link)
	return nil
}

// bundleClient is the API calls of the bundle command.
type bundleClient struct{ *apiClient }

func (c bundleClient) do(ctx context.Context, method, path string, out any) error {
	return c.apiClient.do(ctx, method, path, "application/json", nil, out)
}

func (c bundleClient) bundles(ctx context.Context, caseID string) ([]record.Bundle, error) {
	var bs []record.Bundle
	err := c.do(ctx, http.MethodGet, "/v1/cases/"+caseID+"/bundles", &bs)
	return bs, err
}

// waitState is what a bundle waits on: the files of the case still being
// processed, by stage, and since when the oldest of them has been; with
// the case's bundles.
type waitState struct {
	bundles []record.Bundle
	pending int
	stages  map[string]int
	since   time.Time
}

func (w waitState) String() string {
	if w.pending == 0 {
		return "waiting for the packager"
	}
	stages := make([]string, 0, len(w.stages))
	for st, n := range w.stages {
		stages = append(stages, fmt.Sprintf("%d at %s", n, st))
	}
	slices.Sort(stages)
	return fmt.Sprintf("waiting for %d file(s) still being processed (%s), the oldest since %s (%s)",
		w.pending, strings.Join(stages, ", "), w.since.Local().Format("15:04:05"), time.Since(w.since).Round(time.Second))
}

// waiting reads what the case's bundle waits on.
func (c bundleClient) waiting(ctx context.Context, caseID string) (waitState, error) {
	var v struct {
		Pending int             `json:"pending"`
		Bundles []record.Bundle `json:"bundles"`
		Files   []struct {
			Status  string    `json:"status"`
			Stage   string    `json:"stage"`
			Updated time.Time `json:"updated"`
		} `json:"files"`
	}
	if err := c.do(ctx, http.MethodGet, "/v1/cases/"+caseID, &v); err != nil {
		return waitState{}, err
	}
	w := waitState{bundles: v.Bundles, pending: v.Pending, stages: map[string]int{}}
	for _, f := range v.Files {
		if record.Terminal(f.Status) {
			continue
		}
		w.stages[cmp.Or(f.Stage, f.Status)]++
		if w.since.IsZero() || f.Updated.Before(w.since) {
			w.since = f.Updated
		}
	}
	return w, nil
}

// link reads where GET /v1/cases/{id}/bundle?version=N redirects: the
// bundle's presigned URL.
func (c bundleClient) link(ctx context.Context, caseID string, version int) (string, error) {
	return c.redirect(ctx, fmt.Sprintf("/v1/cases/%s/bundle?version=%d", caseID, version))
}
