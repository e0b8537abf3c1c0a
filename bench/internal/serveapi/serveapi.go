// Package serveapi is the benchmarks' client of a running handoff serve's
// API: wait for it, then call it with its token.
package serveapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Client calls the API at API with the bearer Token.
type Client struct{ API, Token string }

// Do sends body (nil for none) and decodes a 2xx answer into out (when not
// nil); it returns the status.
func (c Client) Do(ctx context.Context, method, path string, body []byte, out any) (int, error) {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.API+path, r)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, err
	}
	if out != nil && resp.StatusCode/100 == 2 {
		return resp.StatusCode, json.Unmarshal(b, out)
	}
	return resp.StatusCode, nil
}

// WaitServe waits (up to a minute) for the handoff serve of the data
// directory data to answer /readyz, and returns its client.
func WaitServe(ctx context.Context, data string) (Client, error) {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		b, err := os.ReadFile(filepath.Join(data, "endpoints.json"))
		if err == nil {
			var ep struct {
				API string `json:"api"`
			}
			tok, _ := os.ReadFile(filepath.Join(data, "api-token"))
			if json.Unmarshal(b, &ep) == nil {
				c := Client{API: ep.API, Token: strings.TrimSpace(string(tok))}
				if code, err := c.Do(ctx, http.MethodGet, "/readyz", nil, nil); err == nil && code == 200 {
					return c, nil
				}
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return Client{}, errors.New("handoff serve did not start")
}
