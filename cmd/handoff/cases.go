package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/handoffmed/handoff/platform/record"
)

type caseItem struct {
	ID      string         `json:"id"`
	Created time.Time      `json:"created"`
	Patient record.Patient `json:"patient"`
	Proc    string         `json:"procedure"`
	Status  string         `json:"status"`
	Pending int            `json:"pending"`
	Errors  int            `json:"errors"`
	Missing []string       `json:"missing"`
	Bundles int            `json:"bundles"`
}

// runCases lists the cases of a running pipeline, newest first.
func runCases(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cf := clientCommand("cases", "usage: handoff cases [flags]\n\nLists the cases, newest first. Exit status: 0 listed, 1 failed, 2 usage.", stderr)
	status := fs.String("status", "", "only cases of these statuses (comma-separated): new, processing, incomplete, ready, bundled")
	limit := fs.Int("limit", 0, "at most this many cases (default: all)")
	asJSON := fs.Bool("json", false, "print the cases as JSON")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		fs.Usage()
		return usageError{"cases takes no arguments"}
	}
	a, err := cf.client()
	if err != nil {
		return err
	}
	var all []caseItem
	cursor := ""
	for {
		q := url.Values{"limit": {"200"}}
		if *status != "" {
			q.Set("status", *status)
		}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		var page struct {
			Cases []caseItem `json:"cases"`
			Next  string     `json:"next"`
		}
		if err := a.json(ctx, http.MethodGet, "/v1/cases?"+q.Encode(), nil, &page); err != nil {
			return err
		}
		all = append(all, page.Cases...)
		if page.Next == "" || *limit > 0 && len(all) >= *limit {
			break
		}
		cursor = page.Next
	}
	if *limit > 0 && len(all) > *limit {
		all = all[:*limit]
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(all)
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CASE\tSTATUS\tPATIENT\tPROCEDURE\tMISSING\tCREATED")
	for _, c := range all {
		name := strings.Trim(c.Patient.FamilyName+", "+c.Patient.GivenName, ", ")
		proc := c.Proc
		if r := []rune(proc); len(r) > 40 {
			proc = string(r[:39]) + "…"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", c.ID, c.Status, name, proc, strings.Join(c.Missing, ","), c.Created.Local().Format("2006-01-02 15:04"))
	}
	return tw.Flush()
}

// runCase is `handoff case create`.
func runCase(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "create" {
		fmt.Fprintln(stderr, "usage: handoff case create [flags] [--json FILE]")
		return usageError{"case takes a subcommand: create"}
	}
	fs, cf := clientCommand("case create", "usage: handoff case create [flags]\n\nCreates a case from flags or a JSON file (flags override the file) and\nprints its ID. Exit status: 0 created, 1 failed, 2 usage.", stderr)
	file := fs.String("json", "", "the case's fields as JSON (the body of POST /v1/cases, as testdata/cases/*/case.json); - reads standard input")
	var in struct {
		Patient       record.Patient `json:"patient"`
		Summary       record.Summary `json:"summary"`
		ReferenceDate string         `json:"reference_date,omitempty"`
	}
	fs.StringVar(&in.Patient.FamilyName, "family-name", "", "family name, as on the passport")
	fs.StringVar(&in.Patient.GivenName, "given-name", "", "given name, as on the passport")
	fs.StringVar(&in.Patient.BirthDate, "birth-date", "", "date of birth, YYYY-MM-DD")
	fs.StringVar(&in.Patient.Sex, "sex", "", "M, F or X")
	fs.IntVar(&in.Summary.Age, "age", 0, "age")
	fs.StringVar(&in.Summary.Height, "height", "", "height as written (5 ft 6 in, 168 cm)")
	fs.StringVar(&in.Summary.Weight, "weight", "", "weight as written (158 lb, 72 kg)")
	fs.StringVar(&in.Summary.Allergies, "allergies", "", "allergies with the reaction")
	fs.StringVar(&in.Summary.Procedure, "procedure", "", "the exact procedure sought")
	fs.StringVar(&in.Summary.SymptomHistory, "symptoms", "", "when symptoms started and how they progressed")
	fs.StringVar(&in.Summary.USRecommendation, "us-recommendation", "", "what the US doctor recommended")
	fs.StringVar(&in.Summary.QuotedCost, "quoted-cost", "", "the US quote")
	fs.StringVar(&in.Summary.ReasonAbroad, "reason-abroad", "", "why care abroad")
	meds := fs.String("medications", "", "medications with doses, separated by ;")
	fs.StringVar(&in.ReferenceDate, "reference-date", "", "labs are judged recent against this day, YYYY-MM-DD (default: today)")
	pos, err := parseArgs(fs, args[1:])
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		fs.Usage()
		return usageError{"case create takes flags only"}
	}
	body := map[string]any{}
	if *file != "" {
		var b []byte
		if *file == "-" {
			b, err = io.ReadAll(os.Stdin)
		} else {
			b, err = os.ReadFile(*file)
		}
		if err != nil {
			return err
		}
		if err := json.Unmarshal(b, &body); err != nil {
			return usageError{fmt.Sprintf("%s is not JSON: %v", *file, err)}
		}
	}
	// Flags given on the command line override the file.
	fields := map[string]any{}
	b, _ := json.Marshal(in)
	_ = json.Unmarshal(b, &fields)
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	merge := func(section string, flagNames map[string]string) {
		sec, _ := body[section].(map[string]any)
		if sec == nil {
			sec = map[string]any{}
		}
		src, _ := fields[section].(map[string]any)
		for flagName, key := range flagNames {
			if set[flagName] {
				sec[key] = src[key]
			}
		}
		if len(sec) > 0 {
			body[section] = sec
		}
	}
	merge("patient", map[string]string{"family-name": "family_name", "given-name": "given_name", "birth-date": "birth_date", "sex": "sex"})
	merge("summary", map[string]string{"age": "age", "height": "height", "weight": "weight", "allergies": "allergies", "procedure": "procedure",
		"symptoms": "symptom_history", "us-recommendation": "us_recommendation", "quoted-cost": "quoted_cost", "reason-abroad": "reason_abroad"})
	if set["medications"] {
		sec, _ := body["summary"].(map[string]any)
		if sec == nil {
			sec = map[string]any{}
		}
		var list []string
		for _, m := range strings.Split(*meds, ";") {
			if m = strings.TrimSpace(m); m != "" {
				list = append(list, m)
			}
		}
		sec["medications"] = list
		body["summary"] = sec
	}
	if set["reference-date"] {
		body["reference_date"] = in.ReferenceDate
	}
	a, err := cf.client()
	if err != nil {
		return err
	}
	var out struct {
		ID string `json:"id"`
	}
	if err := a.json(ctx, http.MethodPost, "/v1/cases", body, &out); err != nil {
		return err
	}
	fmt.Fprintln(stdout, out.ID)
	return nil
}

// runToken manages coordinator credentials (the administrator's token only).
func runToken(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	usage := "usage: handoff token create --name NAME | handoff token list | handoff token revoke NAME"
	if len(args) == 0 {
		fmt.Fprintln(stderr, usage)
		return usageError{"token takes a subcommand: create, list or revoke"}
	}
	fs, cf := clientCommand("token "+args[0], "", stderr)
	name := fs.String("name", "", "the coordinator's name (lower-case letters, digits, . _ -)")
	pos, err := parseArgs(fs, args[1:])
	if err != nil {
		return err
	}
	a, err := cf.client()
	if err != nil {
		return err
	}
	switch args[0] {
	case "create":
		if *name == "" && len(pos) == 1 {
			*name = pos[0]
		}
		if *name == "" {
			return usageError{usage}
		}
		var t struct {
			Name, Token string
		}
		if err := a.json(ctx, http.MethodPost, "/v1/tokens", map[string]string{"name": *name}, &t); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "coordinator credential for %s (shown once; it is stored only as a digest):\n", t.Name)
		fmt.Fprintln(stdout, t.Token)
		return nil
	case "list":
		var ts []struct {
			Name    string     `json:"name"`
			Created time.Time  `json:"created"`
			Revoked *time.Time `json:"revoked"`
		}
		if err := a.json(ctx, http.MethodGet, "/v1/tokens", nil, &ts); err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tCREATED\tREVOKED")
		for _, t := range ts {
			rev := ""
			if t.Revoked != nil {
				rev = t.Revoked.Local().Format("2006-01-02 15:04")
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\n", t.Name, t.Created.Local().Format("2006-01-02 15:04"), rev)
		}
		return tw.Flush()
	case "revoke":
		if len(pos) != 1 {
			return usageError{usage}
		}
		if err := a.json(ctx, http.MethodDelete, "/v1/tokens/"+url.PathEscape(pos[0]), nil, nil); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "revoked %s\n", pos[0])
		return nil
	}
	fmt.Fprintln(stderr, usage)
	return usageError{"unknown token subcommand " + args[0]}
}
