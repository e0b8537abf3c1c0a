package helm

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	"helm.sh/helm/v3/pkg/lint"
	"helm.sh/helm/v3/pkg/lint/support"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// chartDir is the chart under test, relative to this package.
var chartDir = filepath.Join("handoff")

const (
	releaseName = "handoff"
	namespace   = "handoff"
)

// objects is a rendered chart, every object decoded strictly into its type.
type objects struct {
	Deployments     map[string]*appsv1.Deployment
	Services        map[string]*corev1.Service
	Secrets         map[string]*corev1.Secret
	ConfigMaps      map[string]*corev1.ConfigMap
	ServiceAccounts map[string]*corev1.ServiceAccount
	PDBs            map[string]*policyv1.PodDisruptionBudget
	NetworkPolicies map[string]*networkingv1.NetworkPolicy
	Ingresses       map[string]*networkingv1.Ingress
	Jobs            map[string]*batchv1.Job
	ScaledObjects   map[string]*ScaledObject
	PodMonitors     map[string]*monitoringv1.PodMonitor
	PrometheusRules map[string]*monitoringv1.PrometheusRule
	values          chartutil.Values
}

// readValues reads a values file of the chart; "" is none (the defaults).
func readValues(t *testing.T, file string) map[string]any {
	t.Helper()
	if file == "" {
		return map[string]any{}
	}
	v, err := chartutil.ReadValuesFile(filepath.Join(chartDir, file))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// render renders the chart as `helm install` would, without a cluster:
// the NATS dependency is absent (no chart repository is reachable) and its
// condition decides whether that matters.
func render(t *testing.T, valuesFile string) *objects {
	t.Helper()
	ch, err := loader.Load(chartDir)
	if err != nil {
		t.Fatal(err)
	}
	vals := readValues(t, valuesFile)
	if err := chartutil.ProcessDependenciesWithMerge(ch, vals); err != nil {
		t.Fatal(err)
	}
	rv, err := chartutil.ToRenderValues(ch, vals, chartutil.ReleaseOptions{
		Name: releaseName, Namespace: namespace, Revision: 1, IsInstall: true,
	}, chartutil.DefaultCapabilities)
	if err != nil {
		t.Fatal(err)
	}
	files, err := engine.Render(ch, rv)
	if err != nil {
		t.Fatalf("render with %s: %v", cmpOr(valuesFile, "the default values"), err)
	}
	o := &objects{
		Deployments: map[string]*appsv1.Deployment{}, Services: map[string]*corev1.Service{},
		Secrets: map[string]*corev1.Secret{}, ConfigMaps: map[string]*corev1.ConfigMap{},
		ServiceAccounts: map[string]*corev1.ServiceAccount{}, PDBs: map[string]*policyv1.PodDisruptionBudget{},
		NetworkPolicies: map[string]*networkingv1.NetworkPolicy{}, Ingresses: map[string]*networkingv1.Ingress{},
		Jobs: map[string]*batchv1.Job{}, ScaledObjects: map[string]*ScaledObject{},
		PodMonitors: map[string]*monitoringv1.PodMonitor{}, PrometheusRules: map[string]*monitoringv1.PrometheusRule{},
	}
	o.values, _ = rv["Values"].(chartutil.Values)
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if !strings.HasSuffix(name, ".yaml") || strings.Contains(name, "/charts/") {
			continue // NOTES.txt, helpers; the NATS chart's own objects when charts/ holds it
		}
		for i, doc := range docSep.Split(files[name], -1) {
			if strings.TrimSpace(stripComments(doc)) == "" {
				continue
			}
			if err := o.add([]byte(doc)); err != nil {
				t.Errorf("%s, document %d: %v\n%s", name, i, err, doc)
			}
		}
	}
	return o
}

var docSep = regexp.MustCompile(`(?m)^---\s*$`)

func stripComments(doc string) string {
	var b strings.Builder
	for _, l := range strings.Split(doc, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "#") {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}

// add decodes one object strictly: an unknown field, a wrong type or an
// unknown kind is an error.
func (o *objects) add(doc []byte) error {
	var tm metav1.TypeMeta
	if err := yaml.Unmarshal(doc, &tm); err != nil {
		return err
	}
	switch tm.APIVersion + "/" + tm.Kind {
	case "apps/v1/Deployment":
		return decode(doc, o.Deployments)
	case "v1/Service":
		return decode(doc, o.Services)
	case "v1/Secret":
		return decode(doc, o.Secrets)
	case "v1/ConfigMap":
		return decode(doc, o.ConfigMaps)
	case "v1/ServiceAccount":
		return decode(doc, o.ServiceAccounts)
	case "policy/v1/PodDisruptionBudget":
		return decode(doc, o.PDBs)
	case "networking.k8s.io/v1/NetworkPolicy":
		return decode(doc, o.NetworkPolicies)
	case "networking.k8s.io/v1/Ingress":
		return decode(doc, o.Ingresses)
	case "batch/v1/Job":
		return decode(doc, o.Jobs)
	case "keda.sh/v1alpha1/ScaledObject":
		return decode(doc, o.ScaledObjects)
	case "monitoring.coreos.com/v1/PodMonitor":
		return decode(doc, o.PodMonitors)
	case "monitoring.coreos.com/v1/PrometheusRule":
		return decode(doc, o.PrometheusRules)
	}
	return fmt.Errorf("unexpected object %s %s", tm.APIVersion, tm.Kind)
}

// named is an object with metadata.
type named interface{ GetName() string }

func decode[T any, P interface {
	*T
	named
}](doc []byte, into map[string]P) error {
	obj := P(new(T))
	if err := yaml.UnmarshalStrict(doc, obj); err != nil {
		return err
	}
	name := obj.GetName()
	if name == "" {
		return fmt.Errorf("%T without a name", obj)
	}
	if _, dup := into[name]; dup {
		return fmt.Errorf("two %T named %s", obj, name)
	}
	into[name] = obj
	return nil
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// valuesFiles are the sets the chart is rendered with: the defaults (an
// external NATS cluster) and the production-like file (the NATS chart
// enabled, though it is absent here).
var valuesFiles = []string{"", "values-production.yaml"}

// helm lint passes with each values set (the missing NATS dependency is a
// warning, not an error).
func TestLint(t *testing.T) {
	t.Parallel()
	for _, file := range valuesFiles {
		linter := lint.AllWithKubeVersion(chartDir, readValues(t, file), namespace, nil)
		for _, m := range linter.Messages {
			switch {
			case m.Severity >= support.ErrorSev:
				t.Errorf("lint (%s): %v", cmpOr(file, "defaults"), m)
			case m.Severity == support.WarningSev && !strings.Contains(m.Err.Error(), "missing these dependencies: nats"):
				t.Errorf("lint (%s): %v", cmpOr(file, "defaults"), m)
			}
		}
	}
}

// The chart keeps the bucket set-up script compose runs too, and neither
// hides its failures.
func TestBucketSetupJob(t *testing.T) {
	t.Parallel()
	script, err := os.ReadFile(filepath.Join(chartDir, "files", "setup-buckets.sh"))
	if err != nil {
		t.Fatal(err)
	}
	for _, file := range valuesFiles {
		o := render(t, file)
		job := o.Jobs["handoff-bucket-setup"]
		if job == nil {
			t.Fatalf("%s: no bucket set-up Job", cmpOr(file, "defaults"))
		}
		if got := job.Annotations["helm.sh/hook"]; got != "post-install,post-upgrade" {
			t.Errorf("bucket set-up hook %q, want post-install,post-upgrade", got)
		}
		if strings.Contains(job.Annotations["helm.sh/hook-delete-policy"], "hook-failed") {
			t.Error("a failed bucket set-up Job is deleted: its logs are the only trace of why")
		}
		cm := o.ConfigMaps["handoff-bucket-setup"]
		if cm == nil || strings.TrimSpace(cm.Data["setup-buckets.sh"]) != strings.TrimSpace(string(script)) {
			t.Errorf("the Job's ConfigMap does not hold files/setup-buckets.sh")
		}
		pod := job.Spec.Template.Spec
		checkPodSecurity(t, "bucket set-up", pod)
		if pod.RestartPolicy != corev1.RestartPolicyNever || job.Spec.BackoffLimit == nil {
			t.Errorf("bucket set-up: restart %q, backoff %v", pod.RestartPolicy, job.Spec.BackoffLimit)
		}
	}
	if !strings.Contains(string(script), "\nset -eu\n") || strings.Contains(string(script), "|| true") {
		t.Error("setup-buckets.sh must stop at the first failure (set -eu, no || true)")
	}
}

// checkPodSecurity: non-root, seccomp RuntimeDefault, no service account
// token, and every container with a read-only root, no privilege
// escalation, every capability dropped, and resources.
func checkPodSecurity(t *testing.T, what string, pod corev1.PodSpec) {
	t.Helper()
	psc := pod.SecurityContext
	if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.RunAsUser == nil || *psc.RunAsUser == 0 {
		t.Errorf("%s: pod may run as root: %+v", what, psc)
	}
	if psc == nil || psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("%s: seccomp profile is not RuntimeDefault", what)
	}
	if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
		t.Errorf("%s: mounts a service account token", what)
	}
	for _, c := range pod.Containers {
		sc := c.SecurityContext
		switch {
		case sc == nil:
			t.Errorf("%s/%s: no security context", what, c.Name)
			continue
		case sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem:
			t.Errorf("%s/%s: root filesystem is writable", what, c.Name)
		case sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation:
			t.Errorf("%s/%s: allows privilege escalation", what, c.Name)
		case sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) > 0:
			t.Errorf("%s/%s: capabilities %+v, want all dropped", what, c.Name, sc.Capabilities)
		}
		if c.Resources.Requests.Memory().IsZero() || c.Resources.Requests.Cpu().IsZero() || c.Resources.Limits.Memory().IsZero() {
			t.Errorf("%s/%s: resources %+v, want CPU and memory requests and a memory limit", what, c.Name, c.Resources)
		}
	}
}
