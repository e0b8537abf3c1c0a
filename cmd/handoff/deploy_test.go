package main

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/handoffmed/handoff/platform/event"
)

// compose is the part of deploy/compose.yaml the checks read.
type compose struct {
	Services map[string]struct {
		Image string `yaml:"image"`
		Build *struct {
			Context    string `yaml:"context"`
			Dockerfile string `yaml:"dockerfile"`
		} `yaml:"build"`
		Environment map[string]string `yaml:"environment"`
		DependsOn   map[string]struct {
			Condition string `yaml:"condition"`
		} `yaml:"depends_on"`
	} `yaml:"services"`
	Volumes map[string]any `yaml:"volumes"`
}

// deploy/compose.yaml is valid: no container engine runs here, so it is
// checked against the repository instead — every built service has its
// Dockerfile and binary, every environment variable is one its binary
// reads, and MinIO notifies the subject the services consume.
func TestComposeFile(t *testing.T) {
	root := filepath.Join("..", "..")
	data, err := os.ReadFile(filepath.Join(root, "deploy", "compose.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var c compose
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	dec.KnownFields(false)
	if err := dec.Decode(&c); err != nil {
		t.Fatalf("compose.yaml: %v", err)
	}
	for _, want := range []string{"nats", "minio", "minio-setup", "intake", "dicom", "ocr", "packager"} {
		if _, ok := c.Services[want]; !ok {
			t.Errorf("service %s missing", want)
		}
	}
	if got := c.Services["minio"].Environment["MINIO_NOTIFY_NATS_SUBJECT_PRIMARY"]; got != event.DefaultBucketSubject {
		t.Errorf("MinIO notifies %q, services consume %q", got, event.DefaultBucketSubject)
	}
	for name, s := range c.Services {
		for dep := range s.DependsOn {
			if _, ok := c.Services[dep]; !ok {
				t.Errorf("%s depends on unknown service %s", name, dep)
			}
		}
		if s.Build == nil {
			if s.Image == "" {
				t.Errorf("%s has neither image nor build", name)
			}
			continue
		}
		dockerfile := filepath.Join("..", "..", "deploy", s.Build.Context, s.Build.Dockerfile)
		checkDockerfile(t, name, dockerfile, filepath.Join("..", "..", "deploy", s.Build.Context))
		envs := binaryEnv(t, name)
		prefix := strings.ToUpper(name) + "_"
		for k := range s.Environment {
			if !strings.HasPrefix(k, prefix) {
				continue // for the runtime (OMP_THREAD_LIMIT)
			}
			if !envs[k] && !strings.HasSuffix(k, "_S3_ACCESS_KEY") && !strings.HasSuffix(k, "_S3_SECRET_KEY") && k != "INTAKE_API_TOKEN" {
				t.Errorf("%s: %s is not read by the %s binary", name, k, name)
			}
		}
	}
}

var copyRe = regexp.MustCompile(`^COPY\s+(?:--from=\S+\s+)?(\S+)\s+`)

// checkDockerfile checks that what a Dockerfile copies from the build
// context exists and that the binary it builds has a main package.
func checkDockerfile(t *testing.T, name, path, context string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Errorf("%s: %v", name, err)
		return
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
	}
	if !from {
		t.Errorf("%s: %s has no FROM", name, path)
	}
	if _, err := os.Stat(filepath.Join(context, "services", name, "cmd", name, "main.go")); err != nil {
		t.Errorf("%s: no services/%s/cmd/%s/main.go", name, name, name)
	}
}

var envRe = regexp.MustCompile(`\(env ([A-Z0-9_]+)\)`)

// binaryEnv builds a service binary and returns the environment variables
// its -h documents.
func binaryEnv(t *testing.T, name string) map[string]bool {
	t.Helper()
	bin := filepath.Join(t.TempDir(), name)
	build := exec.Command("go", "build", "-o", bin, "./cmd/"+name)
	build.Dir = filepath.Join("..", "..", "services", name)
	if out, err := build.CombinedOutput(); err != nil {
		t.Errorf("build %s: %v\n%s", name, err, out)
		return nil
	}
	out, _ := exec.Command(bin, "-h").CombinedOutput()
	envs := map[string]bool{}
	for _, m := range envRe.FindAllStringSubmatch(string(out), -1) {
		envs[m[1]] = true
	}
	if len(envs) == 0 {
		t.Errorf("%s -h documents no environment variables:\n%s", name, out)
	}
	return envs
}
