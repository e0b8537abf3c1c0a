package main

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/handoffmed/handoff/cmd/handoff/internal/e2e"
	"github.com/handoffmed/handoff/platform/record"
)

// Re-uploads of any type at the same path, in any order, end with the
// newest version done: an empty file then a real one, a ZIP then a PDF, a
// PDF then a ZIP, and two versions sent at once.
func TestReuploadsEndWithTheNewestVersionDone(t *testing.T) {
	t.Parallel()
	p := e2e.Start(t, e2e.Options{})
	zipA := e2e.Zip(t, [2]string{"visit.txt", "Visit summary\nSeen for right hip pain.\n"})
	zipB := e2e.Zip(t, [2]string{"note.txt", "Progress note\nFollow-up in two weeks.\n"}, [2]string{"more.txt", "Second page\n"})
	pdf := e2e.TextPDF("Operative report", "Procedure: right knee arthroscopy")
	type step struct {
		data []byte
		kind string // the newest version's type
	}
	cases := []struct {
		name  string
		steps []step
		both  bool // the last two steps are sent at once
	}{
		{name: "empty then zip", steps: []step{{nil, record.TypeUnknown}, {zipA, record.TypeZIP}}},
		{name: "zip then pdf", steps: []step{{zipA, record.TypeZIP}, {pdf, record.TypePDF}}},
		{name: "pdf then zip", steps: []step{{pdf, record.TypePDF}, {zipB, record.TypeZIP}}},
		{name: "zip then another zip", steps: []step{{zipA, record.TypeZIP}, {zipB, record.TypeZIP}}},
		{name: "empty then pdf then empty", steps: []step{{nil, ""}, {pdf, ""}, {nil, record.TypeUnknown}}},
		{name: "two at once", steps: []step{{zipA, ""}, {pdf, ""}}, both: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := p.For(t)
			id := p.CreateCase("")
			const path = "records/a.zip"
			if tc.both {
				var wg sync.WaitGroup
				for _, s := range tc.steps {
					wg.Go(func() { p.Upload(id, path, s.data) })
				}
				wg.Wait()
			} else {
				for _, s := range tc.steps {
					p.Upload(id, path, s.data)
				}
			}
			// The expansion of a replaced archive learns it was replaced
			// only as it ends: its entries may be done for a moment before
			// it supersedes them.
			v := p.WaitFor(id, "every file settled, no entry of a replaced archive live and none live twice", 60*time.Second, func(v e2e.CaseView) bool {
				return len(v.Files) > 0 && v.Pending == 0 && entriesSettled(v, path)
			})
			top := fileAt(v, path)
			if top == nil {
				t.Fatalf("no record of %s: %+v", path, v.Files)
			}
			if !record.Terminal(top.Status) || top.Status == record.StatusFailed && top.Error != nil && top.Error.Code != record.CodeEmpty {
				t.Errorf("%s: status %s at %s (error %+v), want done", path, top.Status, top.Stage, top.Error)
			}
			want := tc.steps[len(tc.steps)-1].kind
			if want != "" && top.Type != want {
				t.Errorf("%s: type %s, want the newest version's %s", path, top.Type, want)
			}
		})
	}
}

// entriesSettled says whether the entries of the archive at path are as
// they must end: entries of a replaced archive are superseded (they no
// longer count as the case's files beside the new version's), and no entry
// is a live file twice.
func entriesSettled(v e2e.CaseView, path string) bool {
	top := fileAt(v, path)
	live := map[string]bool{}
	for _, f := range v.Files {
		if !strings.HasPrefix(f.Path, path+"!/") || f.Status == record.StatusSkipped && f.Stage == record.StageSuperseded {
			continue
		}
		if top == nil || top.Type != record.TypeZIP || live[f.Path] {
			return false
		}
		live[f.Path] = true
	}
	return true
}

// fileAt is the case's file at path, or nil.
func fileAt(v e2e.CaseView, path string) *e2e.FileView {
	var at *e2e.FileView
	for i, f := range v.Files {
		if f.Path == path {
			at = &v.Files[i]
		}
	}
	return at
}
