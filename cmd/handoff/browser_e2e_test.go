package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"

	"github.com/handoffmed/handoff/cmd/handoff/internal/e2e"
	"github.com/handoffmed/handoff/platform/testenv"
)

// browserSession is a headless Chromium (Debian's) driven through the
// DevTools protocol, with every console error of its pages collected.
type browserSession struct {
	t       *testing.T
	ctx     context.Context
	mu      sync.Mutex
	console []string
}

// startBrowser starts Chromium with a fresh profile; it stops with the test.
func startBrowser(t *testing.T) *browserSession {
	t.Helper()
	exe := testenv.Tool(t, "chromium")
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-default-browser-check", true), chromedp.UserDataDir(t.TempDir()),
	}
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancel2 := chromedp.NewContext(actx)
	t.Cleanup(cancel2)
	b := &browserSession{t: t, ctx: ctx}
	b.watchConsole(ctx, "coordinator")
	return b
}

// fresh opens a tab in a new browser context (no cookies, no storage).
func (b *browserSession) fresh(name string) context.Context {
	ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithNewBrowserContext())
	b.t.Cleanup(cancel)
	b.watchConsole(ctx, name)
	return ctx
}

// watchConsole collects the console errors and uncaught exceptions of a tab.
func (b *browserSession) watchConsole(ctx context.Context, name string) {
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		b.t.Fatalf("chromium: %v", err)
	}
	go func() {
		for m, err := range chromedp.Console(ctx) {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleException {
				b.mu.Lock()
				b.console = append(b.console, fmt.Sprintf("%s: %s [%s] %s (%s:%d)", name, m.Type, m.Source, m.Text, m.URL, m.Line))
				b.mu.Unlock()
			}
		}
	}()
}

func (b *browserSession) consoleErrors() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.console)
}

// do runs actions, failing the test with what it was doing.
func do(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if err := chromedp.Do(tctx, actions...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// poll waits until the JavaScript expression is truthy.
func poll(t *testing.T, ctx context.Context, what, expr string, timeout time.Duration) {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, timeout+10*time.Second)
	defer cancel()
	if _, err := chromedp.Run(tctx, chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(timeout), chromedp.WithPollingInterval(200*time.Millisecond))); err != nil {
		var state string
		state, _ = chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('main') ? document.querySelector('main').innerText.slice(0, 3000) : ''`))
		t.Fatalf("waiting for %s: %v\npage:\n%s", what, err, state)
	}
}

func eval[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// screenshot writes a full-page PNG of the tab at a width.
func screenshot(t *testing.T, ctx context.Context, dir, name string, width int64) {
	t.Helper()
	do(t, ctx, "viewport", chromedp.EmulateViewport(width, 900))
	time.Sleep(300 * time.Millisecond) // a re-layout
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot %s", path)
}

// artifactDir is where screenshots go: `go test -artifacts` keeps them.
func artifactDir(t *testing.T) string {
	t.Helper()
	return t.ArtifactDir()
}

type expectedCodes struct {
	Codes  []string `json:"codes"`
	Absent []string `json:"absent"`
}

func readExpected(t *testing.T, name string) expectedCodes {
	t.Helper()
	b, err := os.ReadFile(testenv.Testdata(t, "cases/"+name+"/expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	var e expectedCodes
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatal(err)
	}
	return e
}

// The web app, as a coordinator and a patient use it, through the real
// `handoff serve` in Debian's Chromium: sign in; create a case; upload an
// example case's folder through the folder input; every file reaches done
// and the checklist shows the case's expected codes; a patient link opened
// in a fresh browser uploads a photo and reaches nothing else; the bundle
// is made and downloaded. No console errors; screenshots at 1280 and 390 px.
func TestWebApp(t *testing.T) {
	t.Parallel()
	p := e2e.Start(t, e2e.Options{Args: []string{"--quiet-period", "-1s", "--max-upload", strconv.Itoa(1 << 20)}})
	b := startBrowser(t) // stops before the pipeline does
	shots := artifactDir(t)
	ctx := b.ctx
	want := readExpected(t, "complete")
	var fields struct {
		Patient       map[string]string `json:"patient"`
		Summary       map[string]any    `json:"summary"`
		ReferenceDate string            `json:"reference_date"`
	}
	raw, err := os.ReadFile(testenv.Testdata(t, "cases/complete/case.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &fields); err != nil {
		t.Fatal(err)
	}

	// Sign in with a coordinator credential.
	var cred struct{ Token string }
	if code := p.Do(http.MethodPost, "/v1/tokens", strings.NewReader(`{"name":"alice"}`), &cred); code != http.StatusCreated {
		t.Fatalf("create credential: %d", code)
	}
	do(t, ctx, "sign in",
		chromedp.Navigate(p.API+"/"),
		chromedp.WaitVisible(chromedp.CSS("#token")),
		chromedp.SendKeys(chromedp.CSS("#token"), cred.Token),
		chromedp.Click(chromedp.CSS("form button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS(`a[href="#/new"]`)))
	cookies := eval[string](t, ctx, `document.cookie`)
	if strings.Contains(cookies, "handoff_session") {
		t.Errorf("the session cookie is readable by scripts: %q", cookies)
	}

	// Create the case with the example's fields.
	do(t, ctx, "new case form", chromedp.Click(chromedp.CSS(`a[href="#/new"]`)), chromedp.WaitVisible(chromedp.CSS("#family_name")))
	set := func(id, v string) chromedp.Action[chromedp.Void] { return chromedp.SetValue(chromedp.CSS("#"+id), v) }
	s := fields.Summary
	str := func(k string) string { v, _ := s[k].(string); return v }
	do(t, ctx, "fill the case",
		set("family_name", fields.Patient["family_name"]), set("given_name", fields.Patient["given_name"]),
		set("birth_date", fields.Patient["birth_date"]), set("sex", fields.Patient["sex"]),
		set("age", fmt.Sprint(s["age"])), set("height", str("height")), set("weight", str("weight")),
		set("allergies", str("allergies")), set("procedure", str("procedure")), set("symptom_history", str("symptom_history")),
		set("us_recommendation", str("us_recommendation")), set("quoted_cost", str("quoted_cost")), set("reason_abroad", str("reason_abroad")),
		set("prior_surgeries", "Left knee arthroscopy, June 2019"), set("reference_date", fields.ReferenceDate),
		chromedp.Click(chromedp.CSS("form button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS(`input[webkitdirectory]`)))
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	caseID := loc[strings.LastIndex(loc, "/")+1:]
	if c := p.Case(caseID); c.ID != caseID {
		t.Fatalf("the page's case %q is not in the API", caseID)
	}

	// Upload the example's folder through the folder input.
	folder := testenv.Testdata(t, "cases/complete/files")
	var n int
	_ = filepath.WalkDir(folder, func(_ string, d os.DirEntry, _ error) error {
		if d != nil && !d.IsDir() {
			n++
		}
		return nil
	})
	do(t, ctx, "choose the folder", chromedp.SetUploadFiles(chromedp.CSS(`input[webkitdirectory]`), []string{folder}))
	poll(t, ctx, "every upload done", fmt.Sprintf(`document.querySelectorAll('.uploads li[data-state=uploaded]').length === %d`, n), time.Minute)
	poll(t, ctx, "every file processed", fmt.Sprintf(`(() => { const r = [...document.querySelectorAll('tr[data-file]')];
		return r.length === %d && r.every(x => x.dataset.status === 'done'); })()`, n), 3*time.Minute)
	paths := eval[[]string](t, ctx, `[...document.querySelectorAll('tr[data-file]')].map(r => r.dataset.file)`)
	if !slices.Contains(paths, "files/Imaging CD/DICOM/IM000001") {
		t.Errorf("the folder's paths were not kept: %v", paths)
	}
	// The checklist shows exactly the expected codes once the report is current.
	wantJS, _ := json.Marshal(want.Codes)
	poll(t, ctx, "the checklist of the complete case", fmt.Sprintf(`(() => {
		const c = document.querySelector('[data-testid=checklist]');
		if (!c || c.querySelector('.notice')) return false;
		const codes = [...c.querySelectorAll('[data-code]')].map(x => x.dataset.code).filter(x => x.split('.')[0] !== 'info').sort();
		return JSON.stringify(codes.filter(x => !%s.includes(x)).filter(x => document.querySelector('[data-code="'+x+'"] .badge.error'))) === '[]'
			&& %s.every(x => codes.includes(x));
	})()`, wantJS, wantJS), 2*time.Minute)
	codes := eval[[]string](t, ctx, `[...document.querySelectorAll('[data-code]')].map(x => x.dataset.code)`)
	for _, c := range want.Absent {
		if slices.Contains(codes, c) {
			t.Errorf("the checklist shows %s, which the complete case must not have (codes %v)", c, codes)
		}
	}
	parts := eval[[]string](t, ctx, `[...document.querySelectorAll('tr[data-part]')].map(x => x.dataset.part + ':' + x.dataset.status)`)
	for _, ps := range parts {
		if strings.HasSuffix(ps, ":missing") {
			t.Errorf("part %s on the page of the complete case", ps)
		}
	}
	if zh := eval[string](t, ctx, `document.querySelector('tr[data-part=labs]').innerText`); !strings.Contains(zh, "近期化验") {
		t.Errorf("the labs part has no Chinese label: %q", zh)
	}
	screenshot(t, ctx, shots, "case-1280.png", 1280)
	screenshot(t, ctx, shots, "case-390.png", 390)
	if w := eval[int](t, ctx, `document.documentElement.scrollWidth`); w > 390 {
		t.Errorf("the case page is %d px wide at a 390 px viewport: it scrolls sideways", w)
	}
	do(t, ctx, "wide again", chromedp.EmulateViewport(1280, 900))

	// A patient link, opened in a fresh browser context, uploads a photo.
	other := p.CreateCase(`{"patient":{"family_name":"Other","given_name":"Person"}}`)
	do(t, ctx, "make a patient link", chromedp.Click(chromedp.Search(`//button[text()="Make patient link"]`)), chromedp.WaitVisible(chromedp.CSS(`[data-testid=new-link] code`)))
	link := eval[string](t, ctx, `document.querySelector('[data-testid=new-link] code').innerText`)
	if !strings.HasPrefix(link, p.API+"/u/#hol_") {
		t.Fatalf("link %q", link)
	}
	pctx := b.fresh("patient")
	photo := filepath.Join(t.TempDir(), "lab photo.jpg")
	if err := os.WriteFile(photo, e2e.JPEG(t), 0o600); err != nil {
		t.Fatal(err)
	}
	do(t, pctx, "open the patient link", chromedp.EmulateViewport(390, 844), chromedp.Navigate(link),
		chromedp.WaitVisible(chromedp.CSS(`label.button`)))
	if acc := eval[string](t, pctx, `document.querySelector('input[type=file]').accept`); acc != "image/*,application/pdf" {
		t.Errorf("the patient's file input accepts %q", acc)
	}
	if eval[bool](t, pctx, `!!document.querySelector('input[webkitdirectory]') || location.hash !== ''`) {
		t.Error("the patient page has a folder input, or keeps the token in the address bar")
	}
	do(t, pctx, "add a photo", chromedp.SetUploadFiles(chromedp.CSS(`input[type=file]`), []string{photo}))
	poll(t, pctx, "the photo uploaded and listed", `!!document.querySelector('tr[data-file="lab photo.jpg"]')`, time.Minute)
	if n := eval[int](t, pctx, `document.querySelectorAll('tr[data-file]').length`); n != 1 {
		t.Errorf("the patient page lists %d files, want only the one uploaded through the link", n)
	}
	poll(t, pctx, "what is missing", `!!document.querySelector('[data-testid=checklist]')`, time.Minute)
	screenshot(t, pctx, shots, "patient-390.png", 390)
	if txt := eval[string](t, pctx, `document.body.innerText`); strings.Contains(txt, fields.Patient["family_name"]) || strings.Contains(txt, fields.Patient["birth_date"]) {
		t.Error("the patient page shows the case's fields")
	}
	// The link reaches its case's uploads and checklist, nothing else.
	token := strings.TrimPrefix(link, p.API+"/u/#")
	for _, c := range []struct {
		method, path string
		want         int
	}{
		{"GET", "/v1/cases", 403}, {"GET", "/v1/cases/" + caseID, 403}, {"GET", "/v1/cases/" + other + "/report", 403},
		{"GET", "/v1/cases/" + other + "/events", 403}, {"PUT", "/v1/cases/" + other + "/files/x.pdf", 403},
		{"POST", "/v1/cases/" + caseID + "/bundle", 403}, {"GET", "/v1/cases/" + caseID + "/bundles", 403},
		{"PATCH", "/v1/cases/" + caseID, 403}, {"GET", "/v1/cases/" + caseID + "/report", 200},
	} {
		req, _ := http.NewRequest(c.method, p.API+c.path, strings.NewReader("x"))
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Errorf("link: %s %s answered %d, want %d", c.method, c.path, resp.StatusCode, c.want)
		}
	}

	// The bundle: requested and downloaded from the case page.
	dl := t.TempDir()
	if _, err := chromedp.CallBrowser(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: dl}); err != nil {
		t.Fatalf("download behaviour: %v", err)
	}
	poll(t, ctx, "the photo on the coordinator's page", `!!document.querySelector('tr[data-file="lab photo.jpg"][data-status=done]')`, 2*time.Minute)
	do(t, ctx, "make the bundle", chromedp.Click(chromedp.Search(`//button[text()="Make bundle"]`)))
	poll(t, ctx, "the bundle listed", `!!document.querySelector('li[data-version] a[data-testid=download]')`, 3*time.Minute)
	do(t, ctx, "download the bundle", chromedp.Click(chromedp.CSS(`li[data-version] a[data-testid=download]`)))
	var zipPath string
	deadline := time.Now().Add(time.Minute)
	for zipPath == "" && time.Now().Before(deadline) {
		m, _ := filepath.Glob(filepath.Join(dl, "*.zip"))
		if len(m) == 1 {
			zipPath = m[0]
		}
		time.Sleep(100 * time.Millisecond)
	}
	if zipPath == "" {
		t.Fatal("no bundle downloaded")
	}
	bundles := p.Case(caseID).Bundles
	last := bundles[len(bundles)-1]
	data, err := os.ReadFile(zipPath)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	if hex.EncodeToString(sum[:]) != last.SHA256 || filepath.Base(zipPath) != last.Name {
		t.Errorf("downloaded %s (%d bytes), want %s with sha256 %s", filepath.Base(zipPath), len(data), last.Name, last.SHA256)
	}
	if _, err := verifyZip(zipPath); err != nil {
		t.Errorf("the downloaded bundle: %v", err)
	}
	screenshot(t, ctx, shots, "bundle-1280.png", 1280)
	if errs := b.consoleErrors(); len(errs) > 0 {
		t.Errorf("console errors:\n%s", strings.Join(errs, "\n"))
	}

	// Bad input gets its clear message on the page. (The browser logs each
	// refused request as a network error; nothing else may be logged.)
	seen := len(b.consoleErrors())
	big := filepath.Join(t.TempDir(), "whole CD.zip")
	if err := os.WriteFile(big, make([]byte, 2<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	do(t, ctx, "a file over the cap", chromedp.SetUploadFiles(chromedp.CSS(`input[type=file]:not([webkitdirectory])`), []string{big}))
	poll(t, ctx, "the refusal", `!!document.querySelector('.uploads li[data-path="whole CD.zip"][data-state=failed]')`, time.Minute)
	if msg := eval[string](t, ctx, `document.querySelector('.uploads li[data-path="whole CD.zip"]').innerText`); !strings.Contains(msg, "too large") || !strings.Contains(msg, "1 MiB") {
		t.Errorf("a file over the cap says %q", msg)
	}
	sctx := b.fresh("sign-in")
	do(t, sctx, "a wrong credential", chromedp.Navigate(p.API+"/"), chromedp.WaitVisible(chromedp.CSS("#token")),
		chromedp.SendKeys(chromedp.CSS("#token"), "hoc_notarealcredential"), chromedp.Click(chromedp.CSS("form button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS(`[role=alert]`)))
	if msg := eval[string](t, sctx, `document.querySelector('[role=alert]').innerText`); !strings.Contains(msg, "not valid") {
		t.Errorf("a wrong credential says %q", msg)
	}
	var links []struct{ ID string }
	p.Do(http.MethodGet, "/v1/cases/"+caseID+"/links", nil, &links)
	if len(links) != 1 || p.Do(http.MethodDelete, "/v1/cases/"+caseID+"/links/"+links[0].ID, nil, nil) != http.StatusOK {
		t.Fatalf("revoke the link: %v", links)
	}
	do(t, pctx, "the revoked link", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`[role=alert]`)))
	if msg := eval[string](t, pctx, `document.querySelector('[role=alert]').innerText`); !strings.Contains(msg, "revoked") || !strings.Contains(msg, "coordinator") {
		t.Errorf("a revoked link says %q", msg)
	}
	screenshot(t, pctx, shots, "revoked-link-390.png", 390)
	for _, e := range b.consoleErrors()[seen:] {
		if !strings.Contains(e, "[network]") {
			t.Errorf("console error on bad input: %s", e)
		}
	}
}
