package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/handoffmed/handoff/platform/localca"
)

// apiClient talks to the intake API of a running pipeline.
type apiClient struct {
	base  string
	token string
	// tokenFrom says where the token came from, for the message of a 401.
	tokenFrom string
	http      *http.Client
	// transport trusts the local CA of a handoff serve --tls auto: the
	// API's and the object store's (presigned links) connections use it.
	transport *http.Transport
}

// clientFlags are the flags of the commands that talk to a running pipeline.
type clientFlags struct {
	api, token, data, ca string
}

func (c *clientFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.api, "api", envOr("HANDOFF_API", ""), "API base URL (env HANDOFF_API); default: the one handoff serve --data DIR wrote to DIR/endpoints.json, else http://127.0.0.1:8080")
	fs.StringVar(&c.token, "token", "", "API token or coordinator credential (env HANDOFF_API_TOKEN); default: the api-token file of handoff serve --data DIR")
	fs.StringVar(&c.data, "data", envOr("HANDOFF_DATA", "./data"), "data directory of a local `handoff serve`, for its endpoints and API token (env HANDOFF_DATA)")
	fs.StringVar(&c.ca, "ca", envOr("HANDOFF_CA", ""), "CA certificate (PEM file) to trust for the API's TLS (env HANDOFF_CA); default: the local CA of handoff serve --tls auto --data DIR")
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
	// The local CA of the handoff serve whose endpoints these are.
	if ca == "" && ep.CA != "" && strings.TrimRight(base, "/") == strings.TrimRight(ep.API, "/") {
		ca = ep.CA
	}
	tc, err := localca.ClientTLS(ca)
	if err != nil {
		return nil, err
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = tc
	a := &apiClient{base: strings.TrimRight(base, "/"), http: &http.Client{Timeout: 60 * time.Second, Transport: tr}, transport: tr}
	switch {
	case c.token != "":
		a.token, a.tokenFrom = c.token, "--token"
	case os.Getenv("HANDOFF_API_TOKEN") != "":
		a.token, a.tokenFrom = os.Getenv("HANDOFF_API_TOKEN"), "HANDOFF_API_TOKEN"
	default:
		path := filepath.Join(c.data, "api-token")
		if b, err := os.ReadFile(path); err == nil {
			a.token, a.tokenFrom = strings.TrimSpace(string(b)), path
		} else {
			abs, _ := filepath.Abs(path)
			a.tokenFrom = "none (no HANDOFF_API_TOKEN, no --token, no " + abs + ")"
		}
	}
	return a, nil
}

// apiError is a non-2xx answer of the API, with its problem document.
type apiError struct {
	Status int
	Code   string
	Detail string
	// Hint says what the user can do about it.
	Hint string
}

func (e *apiError) Error() string {
	msg := fmt.Sprintf("the API answered %d", e.Status)
	if e.Code != "" {
		msg += " (" + e.Code + ")"
	}
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	if e.Hint != "" {
		msg += "\n  " + e.Hint
	}
	return msg
}

// problemError reads a problem document from an error answer.
func (a *apiClient) problemError(resp *http.Response) *apiError {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var p struct {
		Code   string `json:"code"`
		Detail string `json:"detail"`
	}
	_ = json.Unmarshal(b, &p)
	e := &apiError{Status: resp.StatusCode, Code: p.Code, Detail: p.Detail}
	if resp.StatusCode == http.StatusUnauthorized {
		e.Hint = "Set the API token: HANDOFF_API_TOKEN=… or --token …; a local handoff serve --data DIR keeps it in DIR/api-token. Token used: " + a.tokenFrom
	}
	return e
}

// netError says in plain words that the server cannot be reached.
func (a *apiClient) netError(method, path string, err error) error {
	var op *net.OpError
	if errors.As(err, &op) {
		return fmt.Errorf("%s %s: cannot reach the API at %s (is `handoff serve` running? set HANDOFF_API or --api): %w", method, path, a.base, err)
	}
	return fmt.Errorf("%s %s: %w", method, path, err)
}

func (a *apiClient) request(ctx context.Context, method, path string, body io.Reader) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	if a.token != "" {
		req.Header.Set("Authorization", "Bearer "+a.token)
	}
	return req, nil
}

// do sends a request and decodes a JSON answer into out (a *[]byte gets the
// raw body).
func (a *apiClient) do(ctx context.Context, method, path, accept string, body io.Reader, out any) error {
	req, err := a.request(ctx, method, path, body)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := a.http.Do(req)
	if err != nil {
		return a.netError(method, path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return a.problemError(resp)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("%s %s: read: %w", method, path, err)
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

// json sends v as the JSON body and decodes the answer into out.
func (a *apiClient) json(ctx context.Context, method, path string, v, out any) error {
	var body io.Reader
	if v != nil {
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		body = strings.NewReader(string(b))
	}
	return a.do(ctx, method, path, "application/json", body, out)
}

// redirect sends a GET and returns the Location it redirects to, without
// following it.
func (a *apiClient) redirect(ctx context.Context, path string) (string, error) {
	req, err := a.request(ctx, http.MethodGet, path, nil)
	if err != nil {
		return "", err
	}
	hc := *a.http
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := hc.Do(req)
	if err != nil {
		return "", a.netError(http.MethodGet, path, err)
	}
	defer resp.Body.Close()
	loc := resp.Header.Get("Location")
	if resp.StatusCode/100 != 3 || loc == "" {
		if resp.StatusCode/100 == 3 {
			return "", &apiError{Status: resp.StatusCode}
		}
		return "", a.problemError(resp)
	}
	return loc, nil
}

// parseArgs parses fs's flags wherever they stand among the arguments
// (`handoff upload CASE dir --jobs 8`) and returns the other arguments.
// "--" ends the flags.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var flags, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			pos = append(pos, args[i+1:]...)
			break
		}
		if len(a) < 2 || a[0] != '-' {
			pos = append(pos, a)
			continue
		}
		flags = append(flags, a)
		name := strings.TrimLeft(a, "-")
		if strings.Contains(name, "=") {
			continue
		}
		f := fs.Lookup(name)
		if f == nil {
			continue // fs.Parse reports it
		}
		if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
			continue
		}
		if i+1 < len(args) {
			flags = append(flags, args[i+1])
			i++
		}
	}
	if err := fs.Parse(flags); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		return nil, usageError{err.Error()}
	}
	return append(pos, fs.Args()...), nil
}

// clientCommand makes the flag set of a subcommand that talks to the API:
// errors and usage to stderr, the client flags registered, and usage (when
// given) printed above the flags.
func clientCommand(name, usage string, stderr io.Writer) (*flag.FlagSet, *clientFlags) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	cf := &clientFlags{}
	cf.register(fs)
	if usage != "" {
		fs.Usage = func() {
			fmt.Fprintln(fs.Output(), usage)
			fs.PrintDefaults()
		}
	}
	return fs, cf
}
