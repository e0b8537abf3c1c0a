package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/handoffmed/handoff/platform/record"
)

// runBundle asks a running `handoff serve` for a case's bundle, waits for
// it, and prints its download link (a presigned URL that expires).
//
//	handoff bundle [-api URL] [-wait 5m] CASE_ID
func runBundle(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bundle", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cf clientFlags
	cf.register(fs)
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
	for {
		st.show("waiting for the packager")
		bs, err := c.bundles(ctx, caseID)
		if err != nil {
			return err
		}
		if len(bs) > len(before) {
			got = bs[len(bs)-1]
			st.done()
			break
		}
		// Nothing changed since the newest bundle: the packager answers the
		// request with that one, so once the case has nothing pending it is
		// the answer.
		if len(bs) > 0 && time.Since(start) > 15*time.Second {
			if pending, err := c.pending(ctx, caseID); err == nil && pending == 0 {
				got = bs[len(bs)-1]
				st.done()
				fmt.Fprintf(stderr, "nothing changed since version %d\n", got.Version)
				break
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("no bundle after %s: %w", *wait, ctx.Err())
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

func (c bundleClient) pending(ctx context.Context, caseID string) (int, error) {
	var v struct {
		Pending int `json:"pending"`
	}
	err := c.do(ctx, http.MethodGet, "/v1/cases/"+caseID, &v)
	return v.Pending, err
}

// link reads where GET /v1/cases/{id}/bundle?version=N redirects: the
// bundle's presigned URL.
func (c bundleClient) link(ctx context.Context, caseID string, version int) (string, error) {
	return c.redirect(ctx, fmt.Sprintf("/v1/cases/%s/bundle?version=%d", caseID, version))
}
