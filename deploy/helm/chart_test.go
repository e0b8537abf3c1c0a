package helm

import (
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/handoffmed/handoff/platform/blob"
	"github.com/handoffmed/handoff/platform/bus"
	"github.com/handoffmed/handoff/platform/casestore"
	"github.com/handoffmed/handoff/platform/natstest"
	"github.com/handoffmed/handoff/platform/record"
	"github.com/handoffmed/handoff/platform/testenv"
	"github.com/handoffmed/handoff/services/dicom"
	"github.com/handoffmed/handoff/services/intake"
	"github.com/handoffmed/handoff/services/ocr"
	"github.com/handoffmed/handoff/services/packager"
)

// kinds are the worker kinds, one Deployment each.
var kinds = []string{"intake", "dicom", "ocr", "packager"}

// The chart, rendered with each values set, holds a safe Deployment per
// worker kind that reads only settings its binary reads, a ScaledObject per
// kind on the kind's own durable consumers, a disruption budget and a
// network policy per kind, and the API's Service.
func TestChart(t *testing.T) {
	t.Parallel()
	consumers := serviceConsumers(t)
	envs := binaryEnvs(t)
	for _, file := range valuesFiles {
		t.Run(cmpOr(file, "defaults"), func(t *testing.T) {
			o := render(t, file)
			for _, kind := range kinds {
				name := releaseName + "-" + kind
				d := o.Deployments[name]
				if d == nil {
					t.Errorf("no Deployment %s", name)
					continue
				}
				checkDeployment(t, o, kind, d, envs[kind])
				checkScaledObject(t, o, kind, consumers[kind])
				pod := labels.Set(d.Spec.Template.Labels)
				n := 0
				for name, p := range o.PDBs {
					if selects(t, name, p.Spec.Selector, pod) {
						n++
					}
				}
				if n != 1 {
					t.Errorf("%s: %d PodDisruptionBudgets select its pods, want 1", kind, n)
				}
				checkNetworkPolicy(t, o, kind, pod)
			}
			if got, want := len(o.Deployments), len(kinds); got != want {
				t.Errorf("got %d Deployments, want %d", got, want)
			}
			api := o.Services[releaseName+"-api"]
			if api == nil || !labels.SelectorFromSet(api.Spec.Selector).Matches(labels.Set(o.Deployments[releaseName+"-intake"].Spec.Template.Labels)) {
				t.Errorf("the API Service does not select the intake pods")
			}
			for _, ing := range o.Ingresses {
				for _, r := range ing.Spec.Rules {
					for _, p := range r.HTTP.Paths {
						if o.Services[p.Backend.Service.Name] == nil {
							t.Errorf("Ingress %s routes to a missing Service %s", ing.Name, p.Backend.Service.Name)
						}
					}
				}
			}
		})
	}
}

// The production-like values run on the in-chart 3-node NATS cluster with
// 3 replicas of every stream and KV bucket, and alert on queue lag, dead
// letters and failed bundles with metrics the services export.
func TestProductionValues(t *testing.T) {
	t.Parallel()
	o := render(t, "values-production.yaml")
	wantURL := "nats://" + releaseName + "-nats." + namespace + ".svc.cluster.local:4222"
	for _, kind := range kinds {
		env := containerEnv(o.Deployments[releaseName+"-"+kind])
		if got := env["HANDOFF_REPLICAS"]; got != "3" {
			t.Errorf("%s: HANDOFF_REPLICAS=%q, want 3", kind, got)
		}
		if got := env["HANDOFF_NATS_URL"]; got != wantURL {
			t.Errorf("%s: HANDOFF_NATS_URL=%q, want the in-chart cluster %s", kind, got, wantURL)
		}
	}
	for name, so := range o.ScaledObjects {
		for _, tr := range so.Spec.Triggers {
			if got := tr.Metadata["natsServerMonitoringEndpoint"]; !strings.HasPrefix(got, releaseName+"-nats-headless.") {
				t.Errorf("%s: KEDA reads %q, want the in-chart cluster's headless service", name, got)
			}
		}
	}
	if len(o.PodMonitors) != 1 {
		t.Errorf("got %d PodMonitors, want 1", len(o.PodMonitors))
	}
	rules := o.PrometheusRules[releaseName]
	if rules == nil {
		t.Fatal("no PrometheusRule")
	}
	exported := exportedMetrics(t)
	metricRe := regexp.MustCompile(`\bhandoff_[a-z_]+\b`)
	alerts := map[string]bool{}
	for _, g := range rules.Spec.Groups {
		for _, r := range g.Rules {
			alerts[r.Alert] = true
			for _, m := range metricRe.FindAllString(r.Expr.String(), -1) {
				if !exported[m] {
					t.Errorf("alert %s uses %s, which no service exports", r.Alert, m)
				}
			}
		}
	}
	for _, want := range []string{"HandoffQueueLag", "HandoffDeadLetters", "HandoffDeadLettersWaiting", "HandoffBundleFailed"} {
		if !alerts[want] {
			t.Errorf("no %s alert", want)
		}
	}
}

// selects says whether sel matches pod.
func selects(t *testing.T, name string, sel *metav1.LabelSelector, pod labels.Set) bool {
	t.Helper()
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		t.Errorf("%s: %v", name, err)
		return false
	}
	return !s.Empty() && s.Matches(pod)
}

func checkDeployment(t *testing.T, o *objects, kind string, dep *appsv1.Deployment, binEnv map[string]bool) {
	t.Helper()
	pod := dep.Spec.Template.Spec
	checkPodSecurity(t, kind, pod)
	if len(pod.Containers) != 1 {
		t.Fatalf("%s: %d containers, want 1", kind, len(pod.Containers))
	}
	c := pod.Containers[0]
	if !strings.Contains(c.Image, "handoff-"+kind+":") {
		t.Errorf("%s: image %q is not the kind's", kind, c.Image)
	}
	var port int32
	for _, p := range c.Ports {
		if p.Name == "http" {
			port = p.ContainerPort
		}
	}
	for probe, path := range map[*corev1.Probe]string{c.LivenessProbe: "/healthz", c.ReadinessProbe: "/readyz"} {
		if probe == nil || probe.HTTPGet == nil || probe.HTTPGet.Path != path || probe.HTTPGet.Port.String() != "http" {
			t.Errorf("%s: no probe on %s of port http", kind, path)
		}
	}
	env := containerEnv(dep)
	if got, want := env["HANDOFF_HTTP"], ":"+strconv.Itoa(int(port)); got != want {
		t.Errorf("%s: HANDOFF_HTTP=%q, container port %q", kind, got, want)
	}
	for _, want := range []string{"HANDOFF_NATS_URL", "HANDOFF_S3_ENDPOINT", "HANDOFF_S3_ACCESS_KEY", "HANDOFF_S3_SECRET_KEY", "HANDOFF_REPLICAS", "HANDOFF_LOG_FORMAT"} {
		if _, ok := env[want]; !ok {
			t.Errorf("%s: %s not set", kind, want)
		}
	}
	for _, e := range c.Env {
		switch {
		case strings.HasPrefix(e.Name, "HANDOFF_"):
			if !binEnv[e.Name] {
				t.Errorf("%s: the chart sets %s, which the %s binary does not read", kind, e.Name, kind)
			}
		case e.Name != "OMP_THREAD_LIMIT":
			t.Errorf("%s: %s is outside the HANDOFF_* scheme", kind, e.Name)
		}
		if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
			checkSecretRef(t, o, kind, e.ValueFrom.SecretKeyRef.Name, e.ValueFrom.SecretKeyRef.Key)
		}
	}
	for _, v := range pod.Volumes {
		if v.Secret != nil {
			for _, it := range v.Secret.Items {
				checkSecretRef(t, o, kind, v.Secret.SecretName, it.Key)
			}
		}
	}
	if kind == "ocr" {
		scratch := false
		for _, m := range c.VolumeMounts {
			scratch = scratch || (m.MountPath == "/tmp" && slices.ContainsFunc(pod.Volumes, func(v corev1.Volume) bool { return v.Name == m.Name && v.EmptyDir != nil }))
		}
		if !scratch || env["HANDOFF_OCR_WORK_DIR"] != "/tmp" {
			t.Errorf("ocr: no emptyDir scratch space at its work directory")
		}
	}
	keda, _ := o.values["keda"].(map[string]any)
	if len(o.ScaledObjects) > 0 && keda["enabled"] == true && dep.Spec.Replicas != nil {
		t.Errorf("%s: sets replicas beside its ScaledObject", kind)
	}
}

// checkSecretRef: a Secret the chart makes, or one the values name as
// existing.
func checkSecretRef(t *testing.T, o *objects, kind, name, key string) {
	t.Helper()
	if s := o.Secrets[name]; s != nil {
		if _, ok := s.StringData[key]; !ok {
			t.Errorf("%s: Secret %s has no key %s", kind, name, key)
		}
		return
	}
	existing := []string{
		lookup(o.values, "s3", "existingSecret"), lookup(o.values, "s3", "caSecret"),
		lookup(o.values, "api", "existingSecret"), lookup(o.values, "natsConnection", "credentialsSecret"),
	}
	if name == "" || !slices.Contains(existing, name) {
		t.Errorf("%s: uses Secret %s, which the chart neither makes nor names as existing", kind, name)
	}
}

func lookup(v map[string]any, keys ...string) string {
	for i, k := range keys {
		if i == len(keys)-1 {
			s, _ := v[k].(string)
			return s
		}
		v, _ = v[k].(map[string]any)
	}
	return ""
}

func containerEnv(dep *appsv1.Deployment) map[string]string {
	out := map[string]string{}
	if dep == nil || len(dep.Spec.Template.Spec.Containers) == 0 {
		return out
	}
	for _, e := range dep.Spec.Template.Spec.Containers[0].Env {
		out[e.Name] = e.Value
	}
	return out
}

// checkScaledObject: one ScaledObject per kind, scaling the kind's
// Deployment on nats-jetstream triggers that name its own consumers, and on
// every work queue the kind takes from.
func checkScaledObject(t *testing.T, o *objects, kind string, specs []bus.ConsumerSpec) {
	t.Helper()
	so := o.ScaledObjects[releaseName+"-"+kind]
	if so == nil {
		t.Errorf("%s: no ScaledObject", kind)
		return
	}
	if so.Spec.ScaleTargetRef == nil || o.Deployments[so.Spec.ScaleTargetRef.Name] == nil {
		t.Errorf("%s: ScaledObject scales %+v, not a Deployment of the chart", kind, so.Spec.ScaleTargetRef)
	}
	if so.Spec.MinReplicaCount == nil || so.Spec.MaxReplicaCount == nil || *so.Spec.MaxReplicaCount < max(1, *so.Spec.MinReplicaCount) {
		t.Errorf("%s: replicas %v..%v", kind, so.Spec.MinReplicaCount, so.Spec.MaxReplicaCount)
	} else if kind == "intake" && *so.Spec.MinReplicaCount < 1 {
		t.Errorf("intake scales to zero: the API would go down")
	}
	scaled := map[string]bool{}
	for _, tr := range so.Spec.Triggers {
		if tr.Type != "nats-jetstream" {
			t.Errorf("%s: trigger type %q, want nats-jetstream", kind, tr.Type)
			continue
		}
		for k, required := range natsJetStreamMetadata {
			if _, ok := tr.Metadata[k]; required && !ok {
				t.Errorf("%s: trigger without %s", kind, k)
			}
		}
		for k := range tr.Metadata {
			if _, ok := natsJetStreamMetadata[k]; !ok {
				t.Errorf("%s: trigger metadata %s is not one the nats-jetstream scaler reads", kind, k)
			}
		}
		if n, err := strconv.Atoi(tr.Metadata["lagThreshold"]); err != nil || n < 1 {
			t.Errorf("%s: lagThreshold %q", kind, tr.Metadata["lagThreshold"])
		}
		stream, consumer := tr.Metadata["stream"], tr.Metadata["consumer"]
		if !slices.ContainsFunc(specs, func(s bus.ConsumerSpec) bool { return s.Stream == stream && s.Durable == consumer }) {
			t.Errorf("%s: scales on %s/%s, which is not one of its durable consumers %v", kind, stream, consumer, durables(specs))
		}
		scaled[stream+"/"+consumer] = true
	}
	for _, s := range specs {
		if s.Stream == bus.StreamWork && !scaled[s.Stream+"/"+s.Durable] {
			t.Errorf("%s: its work queue %s/%s has no trigger", kind, s.Stream, s.Durable)
		}
	}
}

func durables(specs []bus.ConsumerSpec) []string {
	var out []string
	for _, s := range specs {
		out = append(out, s.Stream+"/"+s.Durable)
	}
	return out
}

// checkNetworkPolicy: one policy selects the kind's pods, restricts both
// directions, lets the API be reached from the ingress controller, and
// lets the pods reach NATS, S3 and DNS only.
func checkNetworkPolicy(t *testing.T, o *objects, kind string, pod labels.Set) {
	t.Helper()
	var found int
	for name, np := range o.NetworkPolicies {
		if !selects(t, name, &np.Spec.PodSelector, pod) {
			continue
		}
		found++
		if !slices.Contains(np.Spec.PolicyTypes, "Ingress") || !slices.Contains(np.Spec.PolicyTypes, "Egress") {
			t.Errorf("%s: policy types %v, want Ingress and Egress", name, np.Spec.PolicyTypes)
		}
		allowed := map[string]bool{"53": true}
		for _, ports := range []any{o.values["networkPolicy"].(map[string]any)["natsPorts"], o.values["s3"].(map[string]any)["ports"]} {
			list, _ := ports.([]any)
			for _, p := range list {
				allowed[fmt.Sprint(p)] = true
			}
		}
		for _, e := range np.Spec.Egress {
			if len(e.To) == 0 || len(e.Ports) == 0 {
				t.Errorf("%s: an egress rule open to every destination or port", name)
			}
			for _, p := range e.Ports {
				if p.Port == nil || !allowed[p.Port.String()] {
					t.Errorf("%s: egress to port %v, want only NATS, S3 and DNS", name, p.Port)
				}
			}
		}
		if kind == "intake" && len(np.Spec.Ingress) < 2 {
			t.Errorf("%s: the API is not reachable from the ingress controller", name)
		}
		for _, in := range np.Spec.Ingress {
			if len(in.From) == 0 {
				t.Errorf("%s: ingress from anywhere", name)
			}
		}
	}
	if found != 1 {
		t.Errorf("%s: %d NetworkPolicies select its pods, want 1", kind, found)
	}
}

// serviceConsumers are the durable consumers each service runs, from the
// services themselves.
func serviceConsumers(t *testing.T) map[string][]bus.ConsumerSpec {
	t.Helper()
	srv := natstest.Start(t)
	b, err := bus.New(srv.Conn(t), "/chart-test", nil, bus.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cases, err := casestore.Open(t.Context(), b.JetStream(), casestore.Options{Memory: true})
	if err != nil {
		t.Fatal(err)
	}
	// The services only keep the store: nothing reaches this endpoint.
	blobs, err := blob.New(blob.Config{Endpoint: "http://127.0.0.1:9", AccessKey: "chart", SecretKey: "chart-test-only"})
	if err != nil {
		t.Fatal(err)
	}
	in, err := intake.New(intake.Config{APIToken: "chart-test-token-0123456789"}, intake.Deps{Log: slog.New(slog.DiscardHandler), Bus: b, Blobs: blobs, Cases: cases, Registry: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	dc, err := dicom.New(dicom.Config{DerivedBucket: record.DefaultDerivedBucket}, dicom.Deps{Bus: b, Blobs: blobs, Cases: cases})
	if err != nil {
		t.Fatal(err)
	}
	oc, err := ocr.New(ocr.Config{DerivedBucket: record.DefaultDerivedBucket, Workers: 1}, ocr.Deps{Bus: b, Blobs: blobs, Cases: cases})
	if err != nil {
		t.Fatal(err)
	}
	pk, err := packager.New(packager.Config{}, packager.Deps{Bus: b, Blobs: blobs, Cases: cases})
	if err != nil {
		t.Fatal(err)
	}
	return map[string][]bus.ConsumerSpec{
		"intake": in.Consumers(), "dicom": dc.Consumers(), "ocr": oc.Consumers(), "packager": pk.Consumers(),
	}
}

var envRe = regexp.MustCompile(`\(env ([A-Z0-9_]+)\)`)

// binaryEnvs are the variables each kind's binary reads, from its -h: the
// binaries `make build` left beside $HANDOFF_BIN, else built here.
func binaryEnvs(t *testing.T) map[string]map[string]bool {
	t.Helper()
	out := map[string]map[string]bool{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, kind := range kinds {
		wg.Go(func() {
			bin := testenv.ServiceBinary(t, kind)
			help, _ := exec.Command(bin, "-h").CombinedOutput()
			envs := map[string]bool{}
			for _, m := range envRe.FindAllStringSubmatch(string(help), -1) {
				envs[m[1]] = true
			}
			if len(envs) == 0 {
				t.Errorf("%s -h documents no environment variables:\n%s", kind, help)
			}
			mu.Lock()
			out[kind] = envs
			mu.Unlock()
		})
	}
	wg.Wait()
	return out
}

var metricNameRe = regexp.MustCompile(`"(handoff_[a-z_]+)"`)

// exportedMetrics are the metric names the platform and the services give
// Prometheus (the handoff_* string literals of their non-test sources).
func exportedMetrics(t *testing.T) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	for _, dir := range []string{"platform", "services"} {
		root := filepath.Join("..", "..", dir)
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return err
			}
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			if !strings.Contains(string(data), "prometheus") {
				return nil
			}
			for _, m := range metricNameRe.FindAllStringSubmatch(string(data), -1) {
				out[m[1]] = true
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, want := range []string{"handoff_queue_depth", "handoff_dead_letters_total"} {
		if !out[want] {
			t.Fatalf("metric %s not found in the sources (found %v)", want, out)
		}
	}
	return out
}
