package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/handoffmed/handoff/cmd/handoff/internal/e2e"
	"github.com/handoffmed/handoff/platform/bus"
	"github.com/handoffmed/handoff/platform/event"
	"github.com/handoffmed/handoff/platform/record"
)

// handoff serve's NATS is locked down: no anonymous connection; a service
// can publish only its own subjects and write only its own records (the
// packager can neither route work to intake nor rewrite a case record, so a
// forged bundle request with a rewritten name goes nowhere); with --tls
// auto, NATS, the API and S3 answer over TLS only, and the handoff CLI
// trusts the local CA without any switch.
func TestNATSLockedDownAndTLSEverywhere(t *testing.T) {
	t.Parallel()
	p := e2e.Start(t, e2e.Options{Args: []string{"--tls", "auto"}})
	if p.CA == "" || !strings.HasPrefix(p.API, "https://") || !strings.HasPrefix(p.S3, "https://") || !strings.HasPrefix(p.Endpoints.NATS, "tls://") {
		t.Fatalf("endpoints under --tls auto: %+v", p.Endpoints)
	}
	id := p.CreateCase(`{"patient":{"family_name":"Okafor","given_name":"Ada","birth_date":"1970-05-01"}}`)

	// Anonymous: refused, with TLS or without.
	if nc, err := nats.Connect(p.Endpoints.NATS, nats.RootCAs(p.CA), nats.MaxReconnects(0)); err == nil {
		nc.Close()
		t.Error("an anonymous TLS connection to NATS was accepted")
	} else if !errors.Is(err, nats.ErrAuthorization) && !strings.Contains(strings.ToLower(err.Error()), "authorization") {
		t.Errorf("anonymous connection: %v, want an authorization error", err)
	}
	// Plain text to the NATS port: refused (the server wants TLS first).
	plain := strings.Replace(p.Endpoints.NATS, "tls://", "nats://", 1)
	seed := filepath.Join(p.NATSKeys, "admin.nk")
	opt, err := nats.NkeyOptionFromSeed(seed)
	if err != nil {
		t.Fatal(err)
	}
	if nc, err := nats.Connect(plain, opt, nats.MaxReconnects(0), nats.Secure(&tls.Config{InsecureSkipVerify: false, ServerName: "nowhere.invalid"})); err == nil {
		nc.Close()
		t.Error("a connection without a trusted TLS certificate was accepted")
	}

	// The packager's identity.
	var mu sync.Mutex
	var violations []string
	nc, err := p.Conn(t, "packager")
	if err != nil {
		t.Fatalf("packager connection: %v", err)
	}
	nc.SetErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
		mu.Lock()
		defer mu.Unlock()
		violations = append(violations, err.Error())
	})
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	admin, err := p.Conn(t, "admin")
	if err != nil {
		t.Fatal(err)
	}
	ajs, _ := jetstream.New(admin)
	workBefore := streamMsgs(t, ajs, bus.StreamWork)

	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
	defer cancel()
	// A work item for intake.
	if _, err := js.Publish(ctx, event.SubjectWorkArchive, []byte(`{"version":1,"case_id":"`+id+`"}`)); err == nil {
		t.Error("the packager published a work item for intake")
	}
	// A rewritten case record.
	kv, err := js.KeyValue(t.Context(), "handoff-cases")
	if err != nil {
		t.Fatalf("the packager cannot bind the case store to read it: %v", err)
	}
	ctx2, cancel2 := context.WithTimeout(t.Context(), 3*time.Second)
	defer cancel2()
	if _, err := kv.Put(ctx2, "case."+id, []byte(`{"id":"`+id+`","patient":{"family_name":"Forged"}}`)); err == nil {
		t.Error("the packager wrote a case record")
	}
	if streamMsgs(t, ajs, bus.StreamWork) != workBefore {
		t.Error("the WORK stream took a message the packager may not publish")
	}
	var got struct {
		Patient record.Patient `json:"patient"`
	}
	if code := p.Do(http.MethodGet, "/v1/cases/"+id, nil, &got); code != http.StatusOK || got.Patient.FamilyName != "Okafor" {
		t.Errorf("case after the forgery attempts: %d, %+v", code, got.Patient)
	}
	// A worker may not ask for a bundle: only intake routes work.
	dnc, err := p.Conn(t, "dicom")
	if err != nil {
		t.Fatal(err)
	}
	djs, _ := jetstream.New(dnc)
	ctx3, cancel3 := context.WithTimeout(t.Context(), 3*time.Second)
	defer cancel3()
	if _, err := djs.Publish(ctx3, event.SubjectWorkBundle, []byte(`{"version":1,"case_id":"`+id+`","trigger":"request","request_id":"forged"}`)); err == nil {
		t.Error("the DICOM service's identity published a bundle request")
	}
	mu.Lock()
	if len(violations) < 2 || !strings.Contains(strings.Join(violations, "\n"), "Permissions Violation") {
		t.Errorf("server told the packager of no permission violation: %q", violations)
	}
	mu.Unlock()

	// The API and S3 answer over TLS only; plain HTTP to them fails.
	for _, base := range []string{p.API, p.S3} {
		plainURL := strings.Replace(base, "https://", "http://", 1)
		resp, err := http.Get(plainURL + "/healthz") //nolint:noctx // a probe
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode < 400 {
				t.Errorf("%s answered plain HTTP with %d", plainURL, resp.StatusCode)
			}
		}
		if _, err := net.DialTimeout("tcp", strings.TrimPrefix(base, "https://"), time.Second); err != nil {
			t.Errorf("%s: %v", base, err)
		}
	}
	resp, err := p.HTTP.Get(p.API + "/healthz") //nolint:noctx // a probe
	if err != nil {
		t.Fatalf("the API over TLS: %v", err)
	}
	resp.Body.Close()
	if resp.Header.Get("Strict-Transport-Security") == "" {
		t.Error("no HSTS header over TLS")
	}

	// The handoff CLI trusts the local CA: no switch needed.
	cmd := exec.Command(e2e.Binary(t), "report", "--data", p.Data, id)
	cmd.Env = append(os.Environ(), "HANDOFF_API_TOKEN="+p.Token)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil && !strings.Contains(out.String(), "not computed yet") {
		var ee *exec.ExitError
		if !errors.As(err, &ee) || strings.Contains(out.String(), "certificate") {
			t.Errorf("handoff report over TLS: %v\n%s", err, out.String())
		}
	}
	if strings.Contains(out.String(), "certificate") {
		t.Errorf("handoff report does not trust the local CA:\n%s", out.String())
	}
}

func streamMsgs(t *testing.T, js jetstream.JetStream, name string) uint64 {
	t.Helper()
	st, err := js.Stream(t.Context(), name)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Msgs
}
