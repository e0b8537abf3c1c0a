package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"

	"github.com/handoffmed/handoff/platform/record"
)

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
	fs, cf := clientCommand("report", "usage: handoff report [flags] CASE_ID\n\nPrints a case's checklist report from a running pipeline.", stderr)
	format := fs.String("format", "text", "output: text, json or html")
	failOnError := fs.Bool("fail-on-error", false, "exit with a non-zero status when the report has an error-level finding")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fs.Usage()
		return usageError{"report takes one CASE_ID"}
	}
	id := pos[0]
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
