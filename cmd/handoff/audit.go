package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"text/tabwriter"
	"time"

	"github.com/handoffmed/handoff/platform/event"
)

// runAudit prints a case's audit trail: who did what, when, how it ended.
func runAudit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cf := clientCommand("audit", "usage: handoff audit CASE_ID [flags]\n\nPrints the case's audit trail, oldest first: every action on the case (created, read,\nupdated, files uploaded and read, checklist read, bundles requested, linked and revoked,\npatient links, erased), who did it and how it ended. It holds IDs only, and it outlives\nan erased case. Exit status: 0 printed, 1 failed, 2 usage.", stderr)
	asJSON := fs.Bool("json", false, "print the entries as JSON")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fs.Usage()
		return usageError{"audit takes one case ID"}
	}
	a, err := cf.client()
	if err != nil {
		return err
	}
	var trail struct {
		Entries []event.Audited `json:"entries"`
	}
	if err := a.json(ctx, http.MethodGet, "/v1/cases/"+url.PathEscape(pos[0])+"/audit", nil, &trail); err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(trail.Entries)
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tACTION\tOBJECT\tBY\tSTATUS")
	for _, e := range trail.Entries {
		at := e.Time
		if t, err := time.Parse(time.RFC3339Nano, e.Time); err == nil {
			at = t.Local().Format("2006-01-02 15:04:05")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s:%s\t%d\n", at, e.Action, e.Object, e.ByKind, e.ByID, e.Status)
	}
	return tw.Flush()
}
