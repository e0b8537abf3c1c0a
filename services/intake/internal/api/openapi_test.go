package api

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// openAPIPath turns a ServeMux pattern into its OpenAPI method and path.
func openAPIPath(pattern string) (method, path string) {
	method, path, _ = strings.Cut(pattern, " ")
	path = strings.ReplaceAll(path, "{$}", "")
	path = strings.ReplaceAll(path, "...}", "}")
	return strings.ToLower(method), path
}

// Every route the server mounts is in the OpenAPI document with the
// authorization rule it applies, and the document has no route the server
// lacks: adding a route without documenting it fails here.
func TestOpenAPICoversEveryRoute(t *testing.T) {
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(OpenAPI, &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi %q, want 3.1.0", doc.OpenAPI)
	}
	seen := map[string]bool{}
	for _, rt := range Routes() {
		method, path := openAPIPath(rt.Pattern)
		seen[method+" "+path] = true
		raw, ok := doc.Paths[path][method]
		if !ok {
			t.Errorf("route %q is not in openapi.json (paths[%q].%s)", rt.Pattern, path, method)
			continue
		}
		var op struct {
			Rule      string                     `json:"x-handoff-authorization"`
			Responses map[string]json.RawMessage `json:"responses"`
		}
		if err := json.Unmarshal(raw, &op); err != nil {
			t.Fatal(err)
		}
		if op.Rule != rt.Rule.Name {
			t.Errorf("%s: x-handoff-authorization %q, want %q", rt.Pattern, op.Rule, rt.Rule.Name)
		}
		if _, ok := op.Responses["default"]; !ok {
			t.Errorf("%s: no default (problem) response", rt.Pattern)
		}
	}
	for path, ops := range doc.Paths {
		for method := range ops {
			if method == "parameters" {
				continue
			}
			if !seen[method+" "+path] {
				t.Errorf("openapi.json documents %s %s, which the server does not serve", strings.ToUpper(method), path)
			}
		}
	}
}

// Each route has exactly one rule, and only the web app, the document,
// the labels and the session's sign-in and look-up are public.
func TestPublicRoutes(t *testing.T) {
	var public []string
	for _, rt := range Routes() {
		if rt.Rule.Name == Public.Name {
			public = append(public, rt.Pattern)
		}
	}
	want := []string{"GET /{$}", "GET /u/{$}", "GET /assets/{file}", "GET /v1/openapi.json", "GET /v1/labels", "POST /v1/session", "GET /v1/session"}
	slices.Sort(public)
	slices.Sort(want)
	if !slices.Equal(public, want) {
		t.Errorf("public routes %v, want %v", public, want)
	}
}
