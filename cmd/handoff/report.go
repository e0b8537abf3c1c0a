package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/handoffmed/handoff/platform/localca"
	"github.com/handoffmed/handoff/platform/record"
)

// apiClient talks to the intake API of a running pipeline.
type apiClient struct {
	base  string
	token string
	http  *http.Client
}

// clientFlags are the flags of the commands that talk to a running pipeline.
type clientFlags struct {
	api, data, ca string
}

func (c *clientFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.api, "api", envOr("HANDOFF_API", ""), "API base URL (env HANDOFF_API); default: the one `handoff serve --data DIR` wrote to DIR/endpoints.json, else http://127.0.0.1:8080")
	fs.StringVar(&c.data, "data", envOr("HANDOFF_DATA", "./data"), "data directory of `handoff serve`, for its endpoints and API token (env HANDOFF_DATA)")
	fs.StringVar(&c.ca, "ca", envOr("HANDOFF_CA", ""), "CA certificate to trust for the API's TLS (env HANDOFF_CA); default: the local CA of `handoff serve --tls auto` in DIR")
}

// client resolves the API address and token: flags and env first, then the
// files `handoff serve` writes into its data directory.
func (c clientFlags) client() (*apiClient, error) {
	base, ca := c.api, c.ca
	var ep Endpoints
	if b, err := os.ReadFile(filepath.Join(c.data, "endpoints.json")); err == nil {
		_ = json.Unmarshal(b, &ep)
	}
	if base == "" {
		base = "http://127.0.0.1:8080"
		if ep.API != "" {
			base = ep.API
		}
	}
	if ca == "" && ep.CA != "" && strings.EqualFold(strings.TrimRight(base, "/"), strings.TrimRight(ep.API, "/")) {
		ca = ep.CA
	}
	tc, err := localca.ClientTLS(ca)
	if err != nil {
		return nil, err
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = tc
	token := os.Getenv("HANDOFF_API_TOKEN")
	if token == "" {
		if b, err := os.ReadFile(filepath.Join(c.data, "api-token")); err == nil {
			token = strings.TrimSpace(string(b))
		}
	}
	return &apiClient{base: strings.TrimRight(base, "/"), token: token, http: &http.Client{Timeout: 60 * time.Second, Transport: tr}}, nil
}

// apiError is a non-2xx answer of the API.
type apiError struct {
	Status int
	Code   string
}

func (e *apiError) Error() string {
	if e.Code != "" {
		return fmt.Sprintf("API answered %d (%s)", e.Status, e.Code)
	}
	return fmt.Sprintf("API answered %d", e.Status)
}

// do sends a request and decodes a JSON answer into out (a *[]byte gets the
// raw body).
func (a *apiClient) do(ctx context.Context, method, path, accept string, body io.Reader, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, body)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if a.token != "" {
		req.Header.Set("Authorization", "Bearer "+a.token)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := a.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("%s %s: read: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		var e struct {
			Code string `json:"code"`
		}
		_ = json.Unmarshal(b, &e)
		return &apiError{Status: resp.StatusCode, Code: e.Code}
	}
	switch o := out.(type) {
	case nil:
		return nil
	case *[]byte:
		*o = b
		return nil
	default:
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("%s %s: decode: %w", method, path, err)
		}
		return nil
	}
}

// redirect sends a GET and returns the Location it redirects to, without
// following it.
func (a *apiClient) redirect(ctx context.Context, path string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.base+path, nil)
	if err != nil {
		return "", fmt.Errorf("GET %s: %w", path, err)
	}
	if a.token != "" {
		req.Header.Set("Authorization", "Bearer "+a.token)
	}
	hc := *a.http
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := hc.Do(req)
	if err != nil {
		return "", fmt.Errorf("GET %s: %w", path, err)
	}
	defer resp.Body.Close()
	loc := resp.Header.Get("Location")
	if resp.StatusCode/100 != 3 || loc == "" {
		return "", &apiError{Status: resp.StatusCode}
	}
	return loc, nil
}

// caseFiles is the part of GET /v1/cases/{id} the report commands need.
type caseFiles struct {
	ID      string `json:"id"`
	Pending int    `json:"pending"`
	Files   []struct {
		ID     string `json:"id"`
		Path   string `json:"path"`
		Status string `json:"status"`
		Stage  string `json:"stage"`
		Route  string `json:"route"`
	} `json:"files"`
}

func (c caseFiles) names() map[string]string {
	m := make(map[string]string, len(c.Files))
	for _, f := range c.Files {
		m[f.ID] = f.Path
	}
	return m
}

// printReport writes a report as text (with the case's file names), JSON or HTML.
func printReport(ctx context.Context, a *apiClient, caseID, format string, w io.Writer) (*record.Report, error) {
	var r record.Report
	if err := a.do(ctx, http.MethodGet, "/v1/cases/"+caseID+"/report", "application/json", nil, &r); err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	switch format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return &r, enc.Encode(r)
	case "html":
		var page []byte
		if err := a.do(ctx, http.MethodGet, "/v1/cases/"+caseID+"/report?format=html", "text/html", nil, &page); err != nil {
			return nil, fmt.Errorf("report page: %w", err)
		}
		_, err := w.Write(page)
		return &r, err
	}
	var c caseFiles
	if err := a.do(ctx, http.MethodGet, "/v1/cases/"+caseID, "application/json", nil, &c); err != nil {
		return nil, fmt.Errorf("case: %w", err)
	}
	return &r, r.WriteText(w, c.names())
}

// errNotReady is returned by --fail-on-error when the report
// has an error-level finding.
var errNotReady = errors.New("the case is not ready: the report has error-level findings")

func runReport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cf clientFlags
	cf.register(fs)
	format := fs.String("format", "text", "output: text, json or html")
	failOnError := fs.Bool("fail-on-error", false, "exit with a non-zero status when the report has an error-level finding")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: handoff report [flags] CASE_ID\n\nPrints a case's checklist report from a running pipeline.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return usageError{"report takes one CASE_ID"}
	}
	id := fs.Arg(0)
	if !record.ValidID(id) {
		return usageError{fmt.Sprintf("%q is not a case ID", id)}
	}
	if *format != "text" && *format != "json" && *format != "html" {
		return usageError{"--format is text, json or html"}
	}
	a, err := cf.client()
	if err != nil {
		return err
	}
	r, err := printReport(ctx, a, url.PathEscape(id), *format, stdout)
	if err != nil {
		return err
	}
	if *failOnError && r.HasErrors() {
		return errNotReady
	}
	return nil
}

func envOr(key, def string) string {
	if v, ok := os.LookupEnv(key); ok {
		return v
	}
	return def
}
