package main

import (
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseServe(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		check   func(t *testing.T, c serveConfig)
		wantErr string
	}{
		{name: "replicas from the environment", env: map[string]string{"HANDOFF_REPLICAS": "3"},
			check: func(t *testing.T, c serveConfig) {
				if c.Replicas != 3 {
					t.Errorf("got %d replicas, want 3", c.Replicas)
				}
			}},
		{name: "a flag wins", args: []string{"--replicas", "5", "--services", "dicom,ocr"}, env: map[string]string{"HANDOFF_REPLICAS": "3"},
			check: func(t *testing.T, c serveConfig) {
				if c.Replicas != 5 {
					t.Errorf("got %d replicas, want 5", c.Replicas)
				}
				if diff := cmp.Diff([]string{"dicom", "ocr"}, c.Services); diff != "" {
					t.Errorf("services (-want +got):\n%s", diff)
				}
			}},
		{name: "shared settings reach the services", env: map[string]string{
			"HANDOFF_BUNDLE_LINK_EXPIRY": "48h", "HANDOFF_OCR_WORKERS": "3", "HANDOFF_S3_SECRET_KEY": "s", "HANDOFF_S3_INSECURE": "true",
		}, check: func(t *testing.T, c serveConfig) {
			if c.Intake.BundleLinkExpiry != 48*time.Hour || c.services.bundleLinkExpiry != 48*time.Hour || c.services.ocrWorkers != 3 ||
				c.S3.SecretKey != "s" || !c.S3.InsecureSkipVerify {
				t.Errorf("got %+v", c)
			}
		}},
		{name: "bad duration", env: map[string]string{"HANDOFF_RECONCILE": "2 minutes"}, wantErr: `HANDOFF_RECONCILE="2 minutes"`},
		{name: "bad boolean", env: map[string]string{"HANDOFF_S3_INSECURE": "yes"}, wantErr: "HANDOFF_S3_INSECURE"},
		{name: "unknown log format", args: []string{"--log-format", "xml"}, wantErr: "log-format"},
		{name: "unknown service", env: map[string]string{"HANDOFF_SERVICES": "intake,billing"}, wantErr: `unknown service "billing"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, _, err := parseServe(tc.args, io.Discard, func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok })
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got error %v, want one naming %s", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, c)
		})
	}
}
