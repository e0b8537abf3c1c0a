package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
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
	data := fs.String("data", envOr("HANDOFF_DATA", "./data"), "data directory of the running serve, for its endpoints.json (env HANDOFF_DATA)")
	api := fs.String("api", envOr("HANDOFF_API", ""), "API base URL; empty reads <data>/endpoints.json (env HANDOFF_API)")
	wait := fs.Duration("wait", 10*time.Minute, "how long to wait for the bundle")
	asJSON := fs.Bool("json", false, "print the bundle record as JSON with its link")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 || !record.ValidID(fs.Arg(0)) {
		return usageError{"usage: handoff bundle [-api URL] [-wait D] CASE_ID"}
	}
	caseID := fs.Arg(0)
	c, err := newBundleClient(*api, *data)
	if err != nil {
		return err
	}
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
	fmt.Fprintf(stderr, "bundle requested for case %s; waiting…\n", caseID)
	var got record.Bundle
	for {
		bs, err := c.bundles(ctx, caseID)
		if err != nil {
			return err
		}
		if len(bs) > len(before) {
			got = bs[len(bs)-1]
			break
		}
		// Nothing changed since the newest bundle: the packager answers the
		// request with that one, so once the case has nothing pending it is
		// the answer.
		if len(bs) > 0 && time.Since(start) > 15*time.Second {
			if pending, err := c.pending(ctx, caseID); err == nil && pending == 0 {
				got = bs[len(bs)-1]
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

type bundleClient struct {
	base, token string
	http        *http.Client
}

func newBundleClient(api, data string) (*bundleClient, error) {
	c := &bundleClient{base: strings.TrimRight(api, "/"), token: os.Getenv("HANDOFF_API_TOKEN"),
		http: &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse // the bundle link is the redirect's target
		}}}
	if c.base == "" || c.token == "" {
		raw, err := os.ReadFile(filepath.Join(data, "endpoints.json"))
		if err != nil {
			if c.base == "" {
				return nil, fmt.Errorf("no -api and no endpoints.json of a running serve: %w", err)
			}
		} else {
			var ep Endpoints
			if err := json.Unmarshal(raw, &ep); err != nil {
				return nil, fmt.Errorf("endpoints.json: %w", err)
			}
			if c.base == "" {
				c.base = strings.TrimRight(ep.API, "/")
			}
			if c.token == "" && ep.TokenFile != "" {
				if t, err := os.ReadFile(ep.TokenFile); err == nil {
					c.token = strings.TrimSpace(string(t))
				}
			}
		}
	}
	if !strings.HasPrefix(c.base, "http") {
		c.base = "http://" + c.base
	}
	return c, nil
}

func (c *bundleClient) request(ctx context.Context, method, path string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, nil)
	if err != nil {
		return nil, err
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	req.Header.Set("Accept", "application/json")
	return c.http.Do(req)
}

func (c *bundleClient) do(ctx context.Context, method, path string, out any) error {
	resp, err := c.request(ctx, method, path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, strings.TrimSpace(string(body)))
	}
	if out == nil {
		return nil
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

func (c *bundleClient) bundles(ctx context.Context, caseID string) ([]record.Bundle, error) {
	var bs []record.Bundle
	err := c.do(ctx, http.MethodGet, "/v1/cases/"+caseID+"/bundles", &bs)
	return bs, err
}

func (c *bundleClient) pending(ctx context.Context, caseID string) (int, error) {
	var v struct {
		Pending int `json:"pending"`
	}
	err := c.do(ctx, http.MethodGet, "/v1/cases/"+caseID, &v)
	return v.Pending, err
}

// link follows GET /v1/cases/{id}/bundle?version=N to its presigned URL.
func (c *bundleClient) link(ctx context.Context, caseID string, version int) (string, error) {
	resp, err := c.request(ctx, http.MethodGet, fmt.Sprintf("/v1/cases/%s/bundle?version=%d", caseID, version))
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusFound && resp.StatusCode != http.StatusSeeOther && resp.StatusCode != http.StatusTemporaryRedirect {
		return "", fmt.Errorf("bundle link: %s", resp.Status)
	}
	loc := resp.Header.Get("Location")
	if loc == "" {
		return "", errors.New("bundle link: no Location")
	}
	return loc, nil
}
