package main

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/handoffmed/handoff/cmd/handoff/internal/e2e"
	"github.com/handoffmed/handoff/platform/bus"
	"github.com/handoffmed/handoff/platform/event"
)

// TestAuditTrail: a scripted session through handoff serve — a
// coordinator's credential made, a case created and read, a file uploaded
// and read, the checklist read, a bundle requested, linked and revoked, the
// case erased — is in the case's audit trail in order, with who did each
// and how it ended, and with no patient data. The trail outlives the
// erased case, and the AUDIT stream refuses to delete an entry.
func TestAuditTrail(t *testing.T) {
	t.Parallel()
	p := e2e.Start(t, e2e.Options{Args: []string{"--quiet-period", "-1s"}})
	const family, given, birth, fileName = "Zwiebelmeyer", "Oskarine", "1951-03-17", "Zwiebelmeyer knee MRI report.txt"

	var tok struct{ Token string }
	if code := p.Do(http.MethodPost, "/v1/tokens", strings.NewReader(`{"name":"alice"}`), &tok); code != http.StatusCreated {
		t.Fatalf("create token: %d", code)
	}
	id := p.CreateCase(`{"patient":{"family_name":"` + family + `","given_name":"` + given + `","birth_date":"` + birth + `"}}`)
	asAlice := func(method, path string, want int) {
		t.Helper()
		req, _ := http.NewRequest(method, p.API+path, nil)
		req.Header.Set("Authorization", "Bearer "+tok.Token)
		resp, err := p.HTTP.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Fatalf("%s %s as alice: %d, want %d", method, path, resp.StatusCode, want)
		}
	}
	asAlice(http.MethodGet, "/v1/cases/"+id, http.StatusOK)
	f := p.Upload(id, fileName, []byte("MRI of the left knee, "+family+" "+given+", born "+birth+".\nImpression: no tear.\n"))
	p.WaitIdle(id, 1, 2*time.Minute)
	if code := p.Do(http.MethodGet, "/v1/cases/"+id+"/files/"+f.ID, nil, nil); code != http.StatusFound && code != http.StatusOK {
		t.Fatalf("GET file: %d", code)
	}
	asAlice(http.MethodGet, "/v1/cases/"+id+"/report", http.StatusOK)
	if code := p.Do(http.MethodPost, "/v1/cases/"+id+"/bundle", nil, nil); code != http.StatusAccepted {
		t.Fatalf("POST bundle: %d", code)
	}
	bv := p.WaitFor(id, "bundle", 3*time.Minute, func(v e2e.CaseView) bool { return len(v.Bundles) == 1 })
	version := strconv.Itoa(bv.Bundles[0].Version)
	var link string
	if code := p.Do(http.MethodGet, "/v1/cases/"+id+"/bundle?version="+version, nil, &link); code != http.StatusFound {
		t.Fatalf("GET bundle link: %d", code)
	}
	if code := p.Do(http.MethodDelete, "/v1/cases/"+id+"/bundles/"+version, nil, nil); code != http.StatusOK && code != http.StatusNoContent {
		t.Fatalf("revoke bundle: %d", code)
	}
	if code := p.Do(http.MethodDelete, "/v1/cases/"+id, nil, nil); code != http.StatusNoContent {
		t.Fatalf("DELETE case: %d", code)
	}

	// handoff audit, after the case is gone.
	out, code := cli(t, p, nil, "audit", id, "--json")
	if code != 0 {
		t.Fatalf("handoff audit: %d\n%s", code, out)
	}
	var entries []event.Audited
	if err := json.Unmarshal([]byte(out), &entries); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	type step struct{ action, by, object string }
	want := []step{
		{"case.create", "admin", ""}, {"case.read", "coordinator", ""}, {"file.upload", "admin", f.ID},
		{"file.read", "admin", f.ID}, {"report.read", "coordinator", ""}, {"bundle.request", "admin", ""},
		{"bundle.link", "admin", version}, {"bundle.revoke", "admin", version}, {"case.delete", "admin", ""},
	}
	var got []step
	for _, e := range entries {
		if e.CaseID != id || e.Status >= 400 || e.Time == "" {
			t.Errorf("entry %+v", e)
		}
		s := step{e.Action, e.ByKind, ""}
		if e.Object == f.ID || e.Object == version {
			s.object = e.Object
		}
		if e.ByKind == "coordinator" && e.ByID != "alice" {
			t.Errorf("entry by %s:%s, want coordinator alice", e.ByKind, e.ByID)
		}
		if s != (step{"case.read", "admin", ""}) { // the test's own polling of the case
			got = append(got, s)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("audit trail:\n got %v\nwant %v", got, want)
	}
	for _, s := range []string{family, given, birth, "Zwiebelmeyer knee", "no tear"} {
		if strings.Contains(out, s) {
			t.Errorf("the audit trail holds patient data %q", s)
		}
	}
	text, code := cli(t, p, nil, "audit", id)
	if code != 0 || !strings.Contains(text, "case.delete") || !strings.Contains(text, "coordinator:alice") {
		t.Errorf("handoff audit: %d\n%s", code, text)
	}

	// Append-only: not even the administrator deletes an entry or purges the stream.
	nc, err := p.Conn(t, "admin")
	if err != nil {
		t.Fatal(err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	st, err := js.Stream(t.Context(), bus.StreamAudit)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteMsg(t.Context(), 1); err == nil {
		t.Error("an audit entry was deleted")
	}
	if err := st.Purge(t.Context()); err == nil {
		t.Error("the audit stream was purged")
	}
}
