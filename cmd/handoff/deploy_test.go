package main

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/handoffmed/handoff/cmd/handoff/internal/e2e"
	"github.com/handoffmed/handoff/platform/event"
	"github.com/handoffmed/handoff/platform/testenv"
)

// compose is the part of deploy/compose.yaml the checks read.
type compose struct {
	Services map[string]composeService `yaml:"services"`
	Volumes  map[string]any            `yaml:"volumes"`
}

type composeService struct {
	Image      string   `yaml:"image"`
	Entrypoint []string `yaml:"entrypoint"`
	Build      *struct {
		Context    string `yaml:"context"`
		Dockerfile string `yaml:"dockerfile"`
	} `yaml:"build"`
	Environment map[string]string `yaml:"environment"`
	Volumes     []string          `yaml:"volumes"`
	DependsOn   map[string]struct {
		Condition string `yaml:"condition"`
	} `yaml:"depends_on"`
	Healthcheck *struct {
		Test []string `yaml:"test"`
	} `yaml:"healthcheck"`
}

// handoffServices are the services compose builds from this repository.
var handoffServices = []string{"intake", "dicom", "ocr", "packager"}

// deploy/compose.yaml is valid: no container engine runs here, so it is
// checked against the repository instead — every built service has its
// Dockerfile and binary, reads only HANDOFF_* variables its binary reads,
// shares the secrets named once, waits for healthy NATS and MinIO and for
// the bucket set-up, and has a health check its image can run; MinIO
// notifies the subject the services consume, and the set-up fails loudly.
func TestComposeFile(t *testing.T) {
	t.Parallel()
	deploy := filepath.Join("..", "..", "deploy")
	raw, err := os.ReadFile(filepath.Join(deploy, "compose.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var c compose
	if err := yaml.Unmarshal(raw, &c); err != nil {
		t.Fatalf("compose.yaml: %v", err)
	}
	for _, want := range append([]string{"nats", "minio", "minio-setup"}, handoffServices...) {
		if _, ok := c.Services[want]; !ok {
			t.Errorf("service %s missing", want)
		}
	}
	if got := c.Services["minio"].Environment["MINIO_NOTIFY_NATS_SUBJECT_PRIMARY"]; got != event.DefaultBucketSubject {
		t.Errorf("MinIO notifies %q, services consume %q", got, event.DefaultBucketSubject)
	}
	// Secrets once: the anchor names them, every service merges it.
	for _, secret := range []string{"HANDOFF_S3_ACCESS_KEY", "HANDOFF_S3_SECRET_KEY"} {
		if n := len(regexp.MustCompile(`(?m)^\s+`+secret+`:\s`).FindAll(raw, -1)); n != 1 {
			t.Errorf("%s is written %d times in compose.yaml, want once (a YAML anchor)", secret, n)
		}
	}
	if strings.Contains(string(raw), "|| true") {
		t.Error("compose.yaml hides a failure with || true")
	}
	for name, s := range c.Services {
		for dep := range s.DependsOn {
			if _, ok := c.Services[dep]; !ok {
				t.Errorf("%s depends on unknown service %s", name, dep)
			}
		}
		if name != "minio-setup" && (s.Healthcheck == nil || len(s.Healthcheck.Test) < 2) {
			t.Errorf("%s has no health check", name)
		}
		if s.Build == nil && s.Image == "" {
			t.Errorf("%s has neither image nor build", name)
		}
	}
	checkSetup(t, deploy, c.Services["minio-setup"])
	for _, name := range handoffServices {
		s := c.Services[name]
		if s.Build == nil {
			t.Errorf("%s: not built from the repository", name)
			continue
		}
		context := filepath.Join(deploy, s.Build.Context)
		entry := checkDockerfile(t, name, filepath.Join(context, s.Build.Dockerfile), context)
		if want := []string{"CMD", entry, "--healthcheck"}; s.Healthcheck != nil && !slices.Equal(s.Healthcheck.Test, want) {
			t.Errorf("%s: health check %q, want %q", name, s.Healthcheck.Test, want)
		}
		for dep, cond := range map[string]string{"nats": "service_healthy", "minio": "service_healthy", "minio-setup": "service_completed_successfully"} {
			if got := s.DependsOn[dep].Condition; got != cond {
				t.Errorf("%s: depends on %s with condition %q, want %q", name, dep, got, cond)
			}
		}
		envs := binaryEnv(t, name)
		for _, want := range []string{"HANDOFF_NATS_URL", "HANDOFF_S3_ENDPOINT", "HANDOFF_S3_ACCESS_KEY", "HANDOFF_S3_SECRET_KEY", "HANDOFF_HTTP"} {
			if _, ok := s.Environment[want]; !ok {
				t.Errorf("%s: %s not set", name, want)
			}
		}
		for k := range s.Environment {
			if !strings.HasPrefix(k, "HANDOFF_") {
				if k != "OMP_THREAD_LIMIT" { // for Tesseract's runtime
					t.Errorf("%s: %s is not a HANDOFF_* setting", name, k)
				}
				continue
			}
			if !envs[k] {
				t.Errorf("%s: %s is not read by the %s binary", name, k, name)
			}
		}
	}
}

// checkSetup checks the one-shot bucket set-up: it runs the chart's
// script, which exists, stops at the first failure and gets the settings it
// needs.
func checkSetup(t *testing.T, deploy string, s composeService) {
	t.Helper()
	if len(s.Entrypoint) != 2 || s.Entrypoint[1] != "/setup-buckets.sh" {
		t.Fatalf("minio-setup runs %q, want the set-up script", s.Entrypoint)
	}
	var script string
	for _, v := range s.Volumes {
		if src, dst, ok := strings.Cut(v, ":"); ok && strings.HasPrefix(dst, "/setup-buckets.sh") {
			script = filepath.Join(deploy, src)
		}
	}
	data, err := os.ReadFile(script)
	if err != nil {
		t.Fatalf("minio-setup's script: %v", err)
	}
	if !strings.Contains(string(data), "\nset -eu\n") || strings.Contains(string(data), "|| true") {
		t.Errorf("%s must stop at the first failure (set -eu, no || true)", script)
	}
	for _, want := range []string{"HANDOFF_S3_ENDPOINT", "HANDOFF_S3_ACCESS_KEY", "HANDOFF_S3_SECRET_KEY"} {
		if _, ok := s.Environment[want]; !ok {
			t.Errorf("minio-setup: %s not set", want)
		}
	}
}

var (
	copyRe  = regexp.MustCompile(`^COPY\s+(?:--from=\S+\s+)?(\S+)\s+`)
	entryRe = regexp.MustCompile(`^ENTRYPOINT\s+\["([^"]+)"`)
)

// checkDockerfile checks that what a Dockerfile copies from the build
// context exists and that the binary it builds has a main package, and
// returns the image's entrypoint.
func checkDockerfile(t *testing.T, name, path, context string) (entrypoint string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Errorf("%s: %v", name, err)
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	from := false
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "FROM ") {
			from = true
		}
		if m := copyRe.FindStringSubmatch(line); m != nil && !strings.Contains(line, "--from=") {
			if _, err := os.Stat(filepath.Join(context, m[1])); err != nil {
				t.Errorf("%s: %s copies %s, which does not exist", name, path, m[1])
			}
		}
		if m := entryRe.FindStringSubmatch(line); m != nil {
			entrypoint = m[1]
		}
		if strings.HasPrefix(line, "ENV ") {
			for _, kv := range strings.Fields(line)[1:] {
				if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, strings.ToUpper(name)+"_") {
					t.Errorf("%s: %s sets %s, an old variable; the binaries read HANDOFF_*", name, path, k)
				}
			}
		}
	}
	if !from {
		t.Errorf("%s: %s has no FROM", name, path)
	}
	if entrypoint == "" {
		t.Errorf("%s: %s has no ENTRYPOINT", name, path)
	}
	if _, err := os.Stat(filepath.Join(context, "services", name, "cmd", name, "main.go")); err != nil {
		t.Errorf("%s: no services/%s/cmd/%s/main.go", name, name, name)
	}
	return entrypoint
}

var envRe = regexp.MustCompile(`\(env ([A-Z0-9_]+)\)`)

// binaryEnv returns the environment variables a service binary's -h
// documents.
func binaryEnv(t *testing.T, name string) map[string]bool {
	t.Helper()
	out, _ := exec.Command(testenv.ServiceBinary(t, name), "-h").CombinedOutput()
	envs := map[string]bool{}
	for _, m := range envRe.FindAllStringSubmatch(string(out), -1) {
		envs[m[1]] = true
	}
	if len(envs) == 0 {
		t.Errorf("%s -h documents no environment variables:\n%s", name, out)
	}
	return envs
}

// Every binary reads the same HANDOFF_* variable for the same setting,
// rejects a malformed value naming the variable, and prints its version.
func TestOneConfigurationScheme(t *testing.T) {
	t.Parallel()
	serve, _ := exec.Command(e2e.Binary(t), "serve", "-h").CombinedOutput()
	serveEnv := map[string]bool{}
	for _, m := range envRe.FindAllStringSubmatch(string(serve), -1) {
		serveEnv[m[1]] = true
	}
	common := []string{"HANDOFF_NATS_URL", "HANDOFF_NATS_CREDS", "HANDOFF_S3_ENDPOINT", "HANDOFF_S3_REGION", "HANDOFF_S3_CA",
		"HANDOFF_S3_INSECURE", "HANDOFF_S3_ACCESS_KEY", "HANDOFF_S3_SECRET_KEY", "HANDOFF_HTTP", "HANDOFF_LOG_FORMAT",
		"HANDOFF_LOG_LEVEL", "HANDOFF_REPLICAS", "HANDOFF_BUCKET_SUBJECT"}
	own := map[string][]string{
		"intake":   {"HANDOFF_API_TOKEN", "HANDOFF_INTAKE_WORKERS", "HANDOFF_INTAKE_BUCKET", "HANDOFF_DERIVED_BUCKET", "HANDOFF_RECONCILE", "HANDOFF_BUNDLE_LINK_EXPIRY"},
		"dicom":    {"HANDOFF_DICOM_WORKERS", "HANDOFF_DERIVED_BUCKET"},
		"ocr":      {"HANDOFF_OCR_WORKERS", "HANDOFF_OCR_LANG", "HANDOFF_DERIVED_BUCKET"},
		"packager": {"HANDOFF_PACKAGER_WORKERS", "HANDOFF_QUIET_PERIOD", "HANDOFF_BUNDLE_LINK_EXPIRY", "HANDOFF_BUNDLE_BUCKET"},
	}
	for _, name := range handoffServices {
		envs := binaryEnv(t, name)
		for _, want := range append(slices.Clone(common), own[name]...) {
			if !envs[want] {
				t.Errorf("%s does not read %s", name, want)
			}
			if !serveEnv[want] {
				t.Errorf("handoff serve does not read %s", want)
			}
		}
		for env := range envs {
			if !strings.HasPrefix(env, "HANDOFF_") {
				t.Errorf("%s reads %s, outside the HANDOFF_* scheme", name, env)
			}
		}
	}
	bins := map[string][]string{"handoff serve": {e2e.Binary(t), "serve"}}
	for _, name := range handoffServices {
		bins[name] = []string{testenv.ServiceBinary(t, name)}
	}
	for name, cmdline := range bins {
		cmd := exec.Command(cmdline[0], cmdline[1:]...)
		cmd.Env = append(os.Environ(), "HANDOFF_REPLICAS=three", "HANDOFF_LOG_FORMAT=xml")
		out, err := cmd.CombinedOutput()
		if err == nil {
			t.Errorf("%s started with HANDOFF_REPLICAS=three", name)
			continue
		}
		for _, want := range []string{`HANDOFF_REPLICAS="three"`, `HANDOFF_LOG_FORMAT="xml"`} {
			if !strings.Contains(string(out), want) {
				t.Errorf("%s: got %q, want an error naming %s", name, out, want)
			}
		}
		version, err := exec.Command(cmdline[0], append(cmdline[1:], "--version")...).Output()
		if err != nil || strings.TrimSpace(string(version)) == "" {
			t.Errorf("%s --version: %q, %v", name, version, err)
		}
	}
}

// `handoff health` is the health check of an image without curl: 0 when
// the process is ready, 1 when nothing answers.
func TestHealthCommand(t *testing.T) {
	t.Parallel()
	p := e2e.Start(t, e2e.Options{})
	if out, err := exec.Command(e2e.Binary(t), "health", p.API+"/readyz").CombinedOutput(); err != nil {
		t.Errorf("handoff health on a running pipeline: %v\n%s", err, out)
	}
	cmd := exec.Command(e2e.Binary(t), "health")
	cmd.Env = append(os.Environ(), "HANDOFF_HTTP=127.0.0.1:1")
	if out, err := cmd.CombinedOutput(); err == nil {
		t.Errorf("handoff health with nothing listening: got success\n%s", out)
	}
}
