// Command casegen writes the example cases under testdata/cases: for each
// case, case.json (the structured case fields), expected.json (exactly the
// checklist codes its report must have, and those it must not) and files/
// (the uploads as a patient would make them: DICOM written with
// github.com/suyashkumar/dicom, text and scanned PDFs written with fpdf,
// photos and screenshots rasterized with poppler's pdftoppm).
//
// The output is deterministic: run it again and nothing changes.
//
//	go run ./tools/casegen -out testdata/cases
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "casegen:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("casegen", flag.ContinueOnError)
	out := fs.String("out", "testdata/cases", "directory to write the cases into")
	only := fs.String("case", "", "write only this case")
	corpus := fs.String("corpus", "testdata/corpus/ccda-peer", "the C-CDA corpus the portal case's export is made from")
	if err := fs.Parse(args); err != nil {
		return err
	}
	for _, c := range cases(*corpus) {
		if *only != "" && c.name != *only {
			continue
		}
		if err := writeCase(*out, c); err != nil {
			return fmt.Errorf("case %s: %w", c.name, err)
		}
		fmt.Fprintf(stdout, "%s: %d files\n", c.name, len(c.files))
	}
	return nil
}

func writeCase(root string, c caseSpec) error {
	dir := filepath.Join(root, c.name)
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("clean: %w", err)
	}
	for _, f := range c.files {
		b, err := f.make()
		if err != nil {
			return fmt.Errorf("%s: %w", f.path, err)
		}
		p := filepath.Join(dir, "files", filepath.FromSlash(f.path))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return fmt.Errorf("mkdir: %w", err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			return fmt.Errorf("write: %w", err)
		}
	}
	exp := expected{About: c.about, Codes: slices.Clone(c.codes)}
	if exp.Codes == nil {
		exp.Codes = []string{}
	}
	sort.Strings(exp.Codes)
	for _, code := range issueCodes {
		if !slices.Contains(exp.Codes, code) {
			exp.Absent = append(exp.Absent, code)
		}
	}
	sort.Strings(exp.Absent)
	if err := writeJSON(filepath.Join(dir, "case.json"), c.input); err != nil {
		return err
	}
	return writeJSON(filepath.Join(dir, "expected.json"), exp)
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", filepath.Base(path), err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	return nil
}
