package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/handoffmed/handoff/cmd/handoff/internal/e2e"
	"github.com/handoffmed/handoff/platform/event"
	"github.com/handoffmed/handoff/platform/record"
)

// openAPIChecker checks real answers against the OpenAPI document the
// server serves: the status must be documented for the operation, the
// content type too, and a JSON body must validate against its schema
// (every object schema closes its properties, so an undocumented field
// fails).
type openAPIChecker struct {
	t        *testing.T
	doc      map[string]any
	compiler *jsonschema.Compiler
	mu       sync.Mutex
	schemas  map[string]*jsonschema.Schema
	seen     map[string]bool // "get /v1/cases/{id}"
}

func newOpenAPIChecker(t *testing.T, raw []byte) *openAPIChecker {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	if err := c.AddResource("https://handoff.invalid/openapi.json", doc); err != nil {
		t.Fatal(err)
	}
	k := &openAPIChecker{t: t, doc: doc.(map[string]any), compiler: c, schemas: map[string]*jsonschema.Schema{}, seen: map[string]bool{}}
	// Every schema compiles.
	for name := range k.doc["components"].(map[string]any)["schemas"].(map[string]any) {
		k.schema("#/components/schemas/" + name)
	}
	return k
}

func (k *openAPIChecker) schema(ptr string) *jsonschema.Schema {
	k.mu.Lock()
	defer k.mu.Unlock()
	if s, ok := k.schemas[ptr]; ok {
		return s
	}
	s, err := k.compiler.Compile("https://handoff.invalid/openapi.json" + ptr)
	if err != nil {
		k.t.Fatalf("compile %s: %v", ptr, err)
	}
	k.schemas[ptr] = s
	return s
}

// jsonPointer escapes a key for a JSON pointer.
func jsonPointer(s string) string {
	return strings.NewReplacer("~", "~0", "/", "~1").Replace(s)
}

// check validates one answer of operation method path (the document's path
// template) and returns its body.
func (k *openAPIChecker) check(method, path string, resp *http.Response) []byte {
	k.t.Helper()
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := strings.ToLower(method)
	k.mu.Lock()
	k.seen[m+" "+path] = true
	k.mu.Unlock()
	where := fmt.Sprintf("%s %s → %d", method, path, resp.StatusCode)
	item, ok := k.doc["paths"].(map[string]any)[path].(map[string]any)
	if !ok {
		k.t.Errorf("%s: the path is not documented", where)
		return body
	}
	op, ok := item[m].(map[string]any)
	if !ok {
		k.t.Errorf("%s: the method is not documented", where)
		return body
	}
	code := strconv.Itoa(resp.StatusCode)
	responses := op["responses"].(map[string]any)
	r, ok := responses[code].(map[string]any)
	ptr := "#/paths/" + jsonPointer(path) + "/" + m + "/responses/" + code
	if !ok {
		if resp.StatusCode < 500 {
			k.t.Errorf("%s: status %s is not documented for the operation", where, code)
			return body
		}
		r, ptr = responses["default"].(map[string]any), "#/paths/"+jsonPointer(path)+"/"+m+"/responses/default"
	}
	ct := resp.Header.Get("Content-Type")
	content, _ := r["content"].(map[string]any)
	if len(content) == 0 {
		if len(body) > 0 && resp.StatusCode != http.StatusFound {
			k.t.Errorf("%s: a body (%s) where the document has none", where, ct)
		}
		return body
	}
	mt, _, _ := mime.ParseMediaType(ct)
	media, ok := content[mt].(map[string]any)
	if !ok {
		k.t.Errorf("%s: content type %q is not documented (%v)", where, ct, slices.Collect(mapKeys(content)))
		return body
	}
	if resp.StatusCode >= 400 && mt != "application/problem+json" {
		k.t.Errorf("%s: an error answered %s, not application/problem+json", where, ct)
	}
	if !strings.HasSuffix(mt, "json") {
		return body
	}
	if _, ok := media["schema"]; !ok {
		return body
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		k.t.Errorf("%s: not JSON: %v\n%.500s", where, err, body)
		return body
	}
	if err := k.schema(ptr + "/content/" + jsonPointer(mt) + "/schema").Validate(v); err != nil {
		k.t.Errorf("%s: the answer does not match the document: %v\n%.2000s", where, err, body)
	}
	return body
}

func mapKeys(m map[string]any) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// operations lists every operation of the document.
func (k *openAPIChecker) operations() []string {
	var out []string
	for path, item := range k.doc["paths"].(map[string]any) {
		for m := range item.(map[string]any) {
			out = append(out, m+" "+path)
		}
	}
	slices.Sort(out)
	return out
}

// apiCall is one request of the test: who sends it, to which operation.
type apiCall struct {
	k      *openAPIChecker
	p      *e2e.Pipeline
	client *http.Client
}

type req struct {
	method, op, url string
	body            any // string, []byte or a value sent as JSON
	token           string
	header          map[string]string
	want            int
}

func (c apiCall) do(t *testing.T, r req) ([]byte, *http.Response) {
	t.Helper()
	var body io.Reader
	switch b := r.body.(type) {
	case nil:
	case string:
		body = strings.NewReader(b)
	case []byte:
		body = bytes.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		body = bytes.NewReader(j)
	}
	u := r.url
	if u == "" {
		u = r.op
	}
	hr, err := http.NewRequestWithContext(t.Context(), r.method, c.p.API+u, body)
	if err != nil {
		t.Fatal(err)
	}
	if r.token != "" {
		hr.Header.Set("Authorization", "Bearer "+r.token)
	}
	for k, v := range r.header {
		hr.Header.Set(k, v)
	}
	resp, err := c.client.Do(hr)
	if err != nil {
		t.Fatalf("%s %s: %v", r.method, u, err)
	}
	out := c.k.check(r.method, r.op, resp)
	if r.want != 0 && resp.StatusCode != r.want {
		t.Errorf("%s %s: %d, want %d: %.300s", r.method, u, resp.StatusCode, r.want, out)
	}
	return out, resp
}

func problemCode(b []byte) string {
	var p struct {
		Code string `json:"code"`
	}
	_ = json.Unmarshal(b, &p)
	return p.Code
}

// Every route of a running pipeline answers as its OpenAPI document says
// (status, content type, JSON fields), and every error is a problem
// document: the test calls every documented operation, and fails if one is
// left out, so a new route must come with its document and a call here.
func TestAPIMatchesItsDocument(t *testing.T) {
	t.Parallel()
	p := e2e.Start(t, e2e.Options{Args: []string{"--quiet-period", "-1s"}})
	resp, err := http.Get(p.API + "/v1/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	k := newOpenAPIChecker(t, raw)
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	c := apiCall{k: k, p: p, client: noRedirect}
	admin := p.Token
	nc, err := p.Conn(t, "admin")
	if err != nil {
		t.Fatal(err)
	}
	deleted := make(chan *nats.Msg, 4)
	if _, err := nc.ChanSubscribe(event.SubjectCaseDeleted, deleted); err != nil {
		t.Fatal(err)
	}

	// The web app and the public documents.
	c.do(t, req{method: "GET", op: "/v1/openapi.json", want: 200})
	c.do(t, req{method: "GET", op: "/v1/labels", want: 200})
	c.do(t, req{method: "GET", op: "/", want: 200})
	c.do(t, req{method: "GET", op: "/u/", want: 200})
	c.do(t, req{method: "GET", op: "/assets/{file}", url: "/assets/app.js", want: 200})
	c.do(t, req{method: "GET", op: "/assets/{file}", url: "/assets/nope.js", want: 404})

	// Errors of the mux itself: unknown routes and methods.
	for _, u := range []string{"/nope", "/v1/nope", "/v1/cases/abcd1234/nope"} {
		resp, err := http.Get(p.API + u)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 404 || resp.Header.Get("Content-Type") != "application/problem+json" || problemCode(b) != "route.not_found" {
			t.Errorf("GET %s: %d %s %s", u, resp.StatusCode, resp.Header.Get("Content-Type"), b)
		}
	}
	for _, m := range []string{"PUT", "DELETE"} {
		r, _ := http.NewRequest(m, p.API+"/v1/openapi.json", nil)
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 405 || resp.Header.Get("Content-Type") != "application/problem+json" || resp.Header.Get("Allow") == "" || problemCode(b) != "method.not_allowed" {
			t.Errorf("%s /v1/openapi.json: %d %s Allow=%q %s", m, resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("Allow"), b)
		}
	}
	// Credentials.
	if b, _ := c.do(t, req{method: "GET", op: "/v1/cases", want: 401}); problemCode(b) != "auth.required" {
		t.Errorf("no token: %s", b)
	}
	if b, _ := c.do(t, req{method: "GET", op: "/v1/cases", token: "wrong-token-000000", want: 401}); problemCode(b) != "auth.invalid_token" {
		t.Errorf("a wrong token: %s", b)
	}

	// Sessions: sign in, look, sign out (with the CSRF token only).
	c.do(t, req{method: "GET", op: "/v1/session", want: 200})
	b, resp := c.do(t, req{method: "POST", op: "/v1/session", body: map[string]string{"token": admin}, want: 201})
	var sess struct {
		CSRF string `json:"csrf_token"`
	}
	_ = json.Unmarshal(b, &sess)
	ck := resp.Header.Get("Set-Cookie")
	if !strings.Contains(ck, "HttpOnly") || !strings.Contains(ck, "SameSite=Strict") || sess.CSRF == "" {
		t.Errorf("session cookie %q, csrf %q", ck, sess.CSRF)
	}
	cookie := strings.SplitN(ck, ";", 2)[0]
	c.do(t, req{method: "POST", op: "/v1/session", body: map[string]string{"token": "nope-nope-nope-nope"}, want: 401})
	c.do(t, req{method: "POST", op: "/v1/session", body: "{}", want: 400})
	c.do(t, req{method: "GET", op: "/v1/session", header: map[string]string{"Cookie": cookie}, want: 200})
	c.do(t, req{method: "GET", op: "/v1/cases", header: map[string]string{"Cookie": cookie}, want: 200})
	if b, _ := c.do(t, req{method: "POST", op: "/v1/cases", body: "{}", header: map[string]string{"Cookie": cookie}, want: 403}); problemCode(b) != "auth.csrf" {
		t.Errorf("a session's POST without its CSRF token: %s", b)
	}
	c.do(t, req{method: "DELETE", op: "/v1/session", header: map[string]string{"Cookie": cookie, "X-CSRF-Token": sess.CSRF}, want: 204})
	if b, _ := c.do(t, req{method: "GET", op: "/v1/cases", header: map[string]string{"Cookie": cookie}, want: 401}); problemCode(b) != "auth.session_expired" {
		t.Errorf("a signed-out session: %s", b)
	}

	// Coordinator credentials.
	var tok struct{ Token string }
	b, _ = c.do(t, req{method: "POST", op: "/v1/tokens", token: admin, body: map[string]string{"name": "bob"}, want: 201})
	_ = json.Unmarshal(b, &tok)
	c.do(t, req{method: "POST", op: "/v1/tokens", token: admin, body: map[string]string{"name": "bob"}, want: 409})
	c.do(t, req{method: "POST", op: "/v1/tokens", token: admin, body: map[string]string{"name": "Bob Smith"}, want: 400})
	c.do(t, req{method: "GET", op: "/v1/tokens", token: admin, want: 200})
	c.do(t, req{method: "GET", op: "/v1/tokens", token: tok.Token, want: 403})
	coord := tok.Token

	// Cases.
	fields, files := bundleCase(t, "complete")
	var created struct{ ID string }
	b, _ = c.do(t, req{method: "POST", op: "/v1/cases", token: coord, body: fields, want: 201})
	_ = json.Unmarshal(b, &created)
	id := created.ID
	c.do(t, req{method: "POST", op: "/v1/cases", token: coord, body: `{"patient":{"birth_date":"14/03/1961"}}`, want: 400})
	for range 2 {
		c.do(t, req{method: "POST", op: "/v1/cases", token: admin, want: 201})
	}
	var page struct {
		Cases []struct{ ID string } `json:"cases"`
		Next  string                `json:"next"`
	}
	b, _ = c.do(t, req{method: "GET", op: "/v1/cases", url: "/v1/cases?limit=2", token: coord, want: 200})
	_ = json.Unmarshal(b, &page)
	if len(page.Cases) != 2 || page.Next == "" {
		t.Errorf("first page of 2: %s", b)
	}
	first := slices.Clone(page.Cases)
	page.Cases = nil
	b, _ = c.do(t, req{method: "GET", op: "/v1/cases", url: "/v1/cases?limit=2&cursor=" + url.QueryEscape(page.Next), token: coord, want: 200})
	page.Next = ""
	_ = json.Unmarshal(b, &page)
	if len(page.Cases) != 1 || page.Next != "" || slices.ContainsFunc(first, func(x struct{ ID string }) bool { return x.ID == page.Cases[0].ID }) {
		t.Errorf("second page: %s (first %v)", b, first)
	}
	c.do(t, req{method: "GET", op: "/v1/cases", url: "/v1/cases?status=bogus", token: coord, want: 400})
	c.do(t, req{method: "GET", op: "/v1/cases", url: "/v1/cases?cursor=bogus", token: coord, want: 400})
	c.do(t, req{method: "PATCH", op: "/v1/cases/{id}", url: "/v1/cases/" + id, token: coord, body: `{"reference_date":"2026-11-01"}`, want: 200})
	c.do(t, req{method: "PATCH", op: "/v1/cases/{id}", url: "/v1/cases/" + id, token: coord, body: `{"reference_date":"soon"}`, want: 400})
	c.do(t, req{method: "GET", op: "/v1/cases/{id}", url: "/v1/cases/zzzzzzzzzzzz", token: coord, want: 404})

	// Uploads: single PUTs, a presigned PUT, and a multipart upload.
	paths := slices.Sorted(mapKeysBytes(files))
	for _, path := range paths {
		c.do(t, req{method: "PUT", op: "/v1/cases/{id}/files/{file}", url: "/v1/cases/" + id + "/files/" + escapePath(path), token: coord, body: files[path], want: 201})
	}
	c.do(t, req{method: "POST", op: "/v1/cases/{id}/uploads", url: "/v1/cases/" + id + "/uploads", token: coord, body: map[string]string{"path": "later.pdf"}, want: 200})
	c.do(t, req{method: "POST", op: "/v1/cases/{id}/uploads", url: "/v1/cases/" + id + "/uploads", token: coord, body: "{}", want: 400})
	mp := "/v1/cases/" + id + "/multipart"
	note := bytes.Repeat([]byte("Progress note. Seen in clinic for right hip pain.\n"), 1000)
	var up struct {
		UploadID string `json:"upload_id"`
		PartSize int64  `json:"part_size"`
		Parts    int    `json:"parts"`
	}
	b, _ = c.do(t, req{method: "POST", op: "/v1/cases/{id}/multipart", url: mp, token: coord, body: map[string]any{"path": "notes/long note.txt", "size": len(note)}, want: 201})
	_ = json.Unmarshal(b, &up)
	c.do(t, req{method: "POST", op: "/v1/cases/{id}/multipart", url: mp, token: coord, body: map[string]any{"path": "huge.iso", "size": int64(9) << 30}, want: 413})
	q := "?path=" + url.QueryEscape("notes/long note.txt") + "&upload_id=" + url.QueryEscape(up.UploadID)
	c.do(t, req{method: "GET", op: "/v1/cases/{id}/multipart", url: mp + q, token: coord, want: 200})
	c.do(t, req{method: "GET", op: "/v1/cases/{id}/multipart", url: mp + "?path=x&upload_id=nope", token: coord, want: 404})
	if b, _ := c.do(t, req{method: "POST", op: "/v1/cases/{id}/multipart/complete", url: mp + "/complete", token: coord,
		body: map[string]any{"path": "notes/long note.txt", "upload_id": up.UploadID, "size": len(note)}, want: 409}); problemCode(b) != "upload.incomplete" {
		t.Errorf("complete before the parts: %s", b)
	}
	var urls struct {
		URLs []struct{ URL string } `json:"urls"`
	}
	b, _ = c.do(t, req{method: "POST", op: "/v1/cases/{id}/multipart/parts", url: mp + "/parts", token: coord,
		body: map[string]any{"path": "notes/long note.txt", "upload_id": up.UploadID, "numbers": []int{1}}, want: 200})
	_ = json.Unmarshal(b, &urls)
	c.do(t, req{method: "POST", op: "/v1/cases/{id}/multipart/parts", url: mp + "/parts", token: coord,
		body: map[string]any{"path": "notes/long note.txt", "upload_id": up.UploadID, "numbers": []int{0}}, want: 400})
	if len(urls.URLs) == 1 {
		pr, _ := http.NewRequest(http.MethodPut, urls.URLs[0].URL, bytes.NewReader(note))
		presp, err := http.DefaultClient.Do(pr)
		if err != nil || presp.StatusCode != 200 {
			t.Fatalf("PUT part: %v %v", err, presp)
		}
		presp.Body.Close()
	}
	c.do(t, req{method: "POST", op: "/v1/cases/{id}/multipart/complete", url: mp + "/complete", token: coord,
		body: map[string]any{"path": "notes/long note.txt", "upload_id": up.UploadID, "size": len(note)}, want: 201})

	// Live progress: the stream opens with the case's state.
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	sr, _ := http.NewRequestWithContext(ctx, http.MethodGet, p.API+"/v1/cases/"+id+"/events", nil)
	sr.Header.Set("Authorization", "Bearer "+coord)
	sresp, err := http.DefaultClient.Do(sr)
	if err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(sresp.Body).ReadString('\n')
	if !strings.HasPrefix(line, "event: ") {
		t.Errorf("events: first line %q", line)
	}
	cancel()
	sresp.Body = io.NopCloser(strings.NewReader(""))
	k.check("GET", "/v1/cases/{id}/events", sresp)
	c.do(t, req{method: "GET", op: "/v1/cases/{id}/events", url: "/v1/cases/zzzzzzzz/events", token: coord, want: 404})

	n := len(files) + 1
	waitProcessed(t, p, id, n)
	p.WaitFor(id, "the report of every file", time.Minute, func(e2e.CaseView) bool {
		var r record.Report
		return p.Do("GET", "/v1/cases/"+id+"/report", nil, &r) == 200 && r.Pending == 0
	})
	c.do(t, req{method: "GET", op: "/v1/cases/{id}", url: "/v1/cases/" + id, token: coord, want: 200})
	b, _ = c.do(t, req{method: "GET", op: "/v1/cases/{id}/report", url: "/v1/cases/" + id + "/report", token: coord, want: 200})
	if !bytes.Contains(b, []byte(`"facts"`)) {
		t.Errorf("staff get no facts in the report")
	}
	c.do(t, req{method: "GET", op: "/v1/cases/{id}/report", url: "/v1/cases/" + id + "/report?format=html", token: coord, want: 200})
	empty := p.CreateCase("")
	c.do(t, req{method: "GET", op: "/v1/cases/{id}/report", url: "/v1/cases/zzzzzzzzzzzz/report", token: coord, want: 404})

	// The originals, under their own names.
	cv := p.Case(id)
	var fileID string
	for _, f := range cv.Files {
		if f.Path == "Labs/PT INR.pdf" {
			fileID = f.ID
		}
	}
	b, resp = c.do(t, req{method: "GET", op: "/v1/cases/{id}/files/{file}", url: "/v1/cases/" + id + "/files/" + fileID, token: coord, want: 200})
	if _, params, _ := mime.ParseMediaType(resp.Header.Get("Content-Disposition")); params["filename"] != "PT INR.pdf" || !bytes.Equal(b, files["Labs/PT INR.pdf"]) {
		t.Errorf("original: Content-Disposition %q, %d bytes", resp.Header.Get("Content-Disposition"), len(b))
	}
	c.do(t, req{method: "GET", op: "/v1/cases/{id}/files/{file}", url: "/v1/cases/" + id + "/files/nosuchfile", token: coord, want: 404})

	// The bundle: made, linked, listed, revoked (then its link answers 403).
	c.do(t, req{method: "POST", op: "/v1/cases/{id}/bundle", url: "/v1/cases/" + id + "/bundle", token: coord, want: 202})
	if b, _ := c.do(t, req{method: "GET", op: "/v1/cases/{id}/bundle", url: "/v1/cases/" + empty + "/bundle", token: coord, want: 404}); problemCode(b) != "bundle.not_found" {
		t.Errorf("bundle of a case without one: %s", b)
	}
	p.WaitFor(id, "the bundle", 3*time.Minute, func(v e2e.CaseView) bool { return len(v.Bundles) == 1 })
	_, resp = c.do(t, req{method: "GET", op: "/v1/cases/{id}/bundle", url: "/v1/cases/" + id + "/bundle?version=1", token: coord, want: 302})
	link := resp.Header.Get("Location")
	c.do(t, req{method: "GET", op: "/v1/cases/{id}/bundle", url: "/v1/cases/" + id + "/bundle?version=x", token: coord, want: 400})
	c.do(t, req{method: "GET", op: "/v1/cases/{id}/bundles", url: "/v1/cases/" + id + "/bundles", token: coord, want: 200})
	c.do(t, req{method: "DELETE", op: "/v1/cases/{id}/bundles/{version}", url: "/v1/cases/" + id + "/bundles/1", token: coord, want: 200})
	c.do(t, req{method: "DELETE", op: "/v1/cases/{id}/bundles/{version}", url: "/v1/cases/" + id + "/bundles/9", token: coord, want: 404})
	if b, _ := c.do(t, req{method: "GET", op: "/v1/cases/{id}/bundle", url: "/v1/cases/" + id + "/bundle?version=1", token: coord, want: 403}); problemCode(b) != "bundle.revoked" {
		t.Errorf("a revoked bundle's link: %s", b)
	}
	if r, err := http.Get(link); err != nil || r.StatusCode == 200 {
		t.Errorf("the presigned link of a revoked bundle still downloads: %v %v", err, r)
	} else {
		r.Body.Close()
	}

	// Patient links: made, used, revoked, expired; scoped to their case.
	var lk struct {
		ID    string `json:"id"`
		Token string `json:"token"`
	}
	b, _ = c.do(t, req{method: "POST", op: "/v1/cases/{id}/links", url: "/v1/cases/" + id + "/links", token: coord, body: `{"expires_in":"1h"}`, want: 201})
	_ = json.Unmarshal(b, &lk)
	c.do(t, req{method: "POST", op: "/v1/cases/{id}/links", url: "/v1/cases/" + id + "/links", token: coord, body: `{"expires_in":"forever"}`, want: 400})
	c.do(t, req{method: "GET", op: "/v1/cases/{id}/links", url: "/v1/cases/" + id + "/links", token: coord, want: 200})
	c.do(t, req{method: "GET", op: "/v1/link", token: lk.Token, want: 200})
	c.do(t, req{method: "GET", op: "/v1/link", token: coord, want: 403})
	b, _ = c.do(t, req{method: "GET", op: "/v1/cases/{id}/report", url: "/v1/cases/" + id + "/report", token: lk.Token, want: 200})
	if bytes.Contains(b, []byte(`"facts"`)) {
		t.Errorf("a patient link gets the facts of the documents")
	}
	c.do(t, req{method: "PUT", op: "/v1/cases/{id}/files/{file}", url: "/v1/cases/" + id + "/files/photo.jpg", token: lk.Token, body: e2e.JPEG(t), want: 201})
	c.do(t, req{method: "PUT", op: "/v1/cases/{id}/files/{file}", url: "/v1/cases/" + empty + "/files/photo.jpg", token: lk.Token, body: e2e.JPEG(t), want: 403})
	c.do(t, req{method: "GET", op: "/v1/cases/{id}", url: "/v1/cases/" + id, token: lk.Token, want: 403})
	c.do(t, req{method: "DELETE", op: "/v1/cases/{id}/links/{link_id}", url: "/v1/cases/" + id + "/links/" + lk.ID, token: coord, want: 200})
	c.do(t, req{method: "DELETE", op: "/v1/cases/{id}/links/{link_id}", url: "/v1/cases/" + empty + "/links/" + lk.ID, token: coord, want: 404})
	if b, _ := c.do(t, req{method: "GET", op: "/v1/link", token: lk.Token, want: 401}); problemCode(b) != "link.revoked" {
		t.Errorf("a revoked link: %s", b)
	}
	b, _ = c.do(t, req{method: "POST", op: "/v1/cases/{id}/links", url: "/v1/cases/" + id + "/links", token: coord, body: `{"expires_in":"1s"}`, want: 201})
	_ = json.Unmarshal(b, &lk)
	time.Sleep(1100 * time.Millisecond)
	if b, _ := c.do(t, req{method: "GET", op: "/v1/link", token: lk.Token, want: 401}); problemCode(b) != "link.expired" {
		t.Errorf("an expired link: %s", b)
	}
	c.do(t, req{method: "GET", op: "/v1/link", token: "hol_aaaaaaaaaaaaaaaa_bbbb", want: 401})

	// A revoked coordinator credential stops working.
	c.do(t, req{method: "DELETE", op: "/v1/tokens/{name}", url: "/v1/tokens/bob", token: admin, want: 204})
	c.do(t, req{method: "DELETE", op: "/v1/tokens/{name}", url: "/v1/tokens/bob", token: admin, want: 404})
	if b, _ := c.do(t, req{method: "GET", op: "/v1/cases", token: coord, want: 401}); problemCode(b) != "auth.revoked" {
		t.Errorf("a revoked credential: %s", b)
	}

	// Deleting a case erases its objects and records; the deletion is recorded.
	// (Outputs of work still in flight would be written after it: wait.)
	p.WaitFor(id, "the photo processed", 2*time.Minute, func(v e2e.CaseView) bool { return v.Pending == 0 && len(v.Files) == n+1 })
	c.do(t, req{method: "DELETE", op: "/v1/cases/{id}", url: "/v1/cases/" + id, token: admin, want: 204})
	c.do(t, req{method: "DELETE", op: "/v1/cases/{id}", url: "/v1/cases/" + id, token: admin, want: 404})
	// The audit trail outlives the case; a bad limit is a problem.
	if b, _ := c.do(t, req{method: "GET", op: "/v1/cases/{id}/audit", url: "/v1/cases/" + id + "/audit", token: admin, want: 200}); !bytes.Contains(b, []byte(`"case.delete"`)) {
		t.Errorf("the audit trail of an erased case: %s", b)
	}
	c.do(t, req{method: "GET", op: "/v1/cases/{id}/audit", url: "/v1/cases/" + id + "/audit?limit=0", token: admin, want: 400})
	c.do(t, req{method: "GET", op: "/v1/cases/{id}/audit", url: "/v1/cases/" + id + "/audit", token: "wrong-token-000000", want: 401})
	c.do(t, req{method: "GET", op: "/v1/cases/{id}/audit", url: "/v1/cases/not-an-id/audit", token: admin, want: 404})
	c.do(t, req{method: "GET", op: "/v1/cases/{id}", url: "/v1/cases/" + id, token: admin, want: 404})
	for _, bucket := range []string{p.Intake, p.Derived, p.Bundles} {
		for o, err := range p.Blobs.List(t.Context(), bucket, "cases/"+id+"/") {
			if err == nil {
				t.Errorf("after deletion %s still holds %s", bucket, o.Key)
			}
		}
	}
	select {
	case m := <-deleted:
		var ev event.CaseDeleted
		if _, err := event.Decode(m.Header, m.Data, &ev); err != nil || ev.CaseID != id || ev.ByKind != "admin" || ev.Objects == 0 || ev.Records == 0 || ev.Messages == 0 {
			t.Errorf("deletion event %+v (%v)", ev, err)
		}
		if bytes.Contains(m.Data, []byte("Whitfield")) {
			t.Error("the deletion event names the patient")
		}
	case <-time.After(10 * time.Second):
		t.Error("no handoff.case.deleted event")
	}
	// No message of the bucket notifications or events names the case any more.
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"BUCKET_EVENTS", "EVENTS"} {
		st, err := js.Stream(t.Context(), name)
		if err != nil {
			t.Fatal(err)
		}
		info, _ := st.Info(t.Context())
		for seq := info.State.FirstSeq; seq <= info.State.LastSeq; seq++ {
			m, err := st.GetMsg(t.Context(), seq)
			if err != nil || m.Subject == event.SubjectCaseDeleted {
				continue
			}
			if m.Header.Get(event.HeaderSubject) == id || bytes.Contains(m.Data, []byte("cases/"+id+"/")) || bytes.Contains(m.Data, []byte("cases%2F"+id+"%2F")) {
				t.Errorf("after deletion, %s keeps message %d (%s) of the case", name, seq, m.Subject)
			}
		}
	}
	if code := p.Do("GET", "/v1/cases?limit=200", nil, &page); code != 200 || slices.ContainsFunc(page.Cases, func(x struct{ ID string }) bool { return x.ID == id }) {
		t.Errorf("the deleted case is still listed")
	}

	// Every operation of the document was called.
	for _, op := range k.operations() {
		if !k.seen[op] {
			t.Errorf("the test never calls %s: call it here with its answers checked", op)
		}
	}
}

func mapKeysBytes(m map[string][]byte) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}
