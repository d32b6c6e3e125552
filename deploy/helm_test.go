package deploy

import (
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"sigs.k8s.io/yaml"

	"helm.sh/helm/v4/pkg/chart/common"
	chartutil "helm.sh/helm/v4/pkg/chart/common/util"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	"helm.sh/helm/v4/pkg/engine"
)

// roles are the `tally` roles that run as Deployments (cmd/tally's role
// commands less migrate and update-cron, which run to completion).
var roles = []string{"api", "projector", "bridge", "worker", "notifier", "scheduler", "webhooks"}

// render renders the chart with Helm's own engine, as `helm template`
// would, and returns the manifests by kind.
func render(t *testing.T, values map[string]any) map[string][]string {
	t.Helper()
	chrt, err := loader.Load("helm/tally")
	if err != nil {
		t.Fatal(err)
	}
	vals, err := chartutil.ToRenderValues(chrt, values,
		common.ReleaseOptions{Name: "tally", Namespace: "tally", IsInstall: true, Revision: 1}, common.DefaultCapabilities)
	if err != nil {
		t.Fatal(err)
	}
	files, err := engine.Render(chrt, vals)
	if err != nil {
		t.Fatalf("render: %v", err)
	}
	byKind := map[string][]string{}
	for name, text := range files {
		if !strings.HasSuffix(name, ".yaml") {
			continue
		}
		for _, doc := range strings.Split(text, "\n---") {
			if strings.TrimSpace(doc) == "" {
				continue
			}
			var head struct {
				APIVersion string `json:"apiVersion"`
				Kind       string `json:"kind"`
			}
			if err := yaml.Unmarshal([]byte(doc), &head); err != nil {
				t.Fatalf("%s: %v\n%s", name, err, doc)
			}
			if head.Kind == "" || head.APIVersion == "" {
				t.Fatalf("%s: an object without kind or apiVersion:\n%s", name, doc)
			}
			byKind[head.Kind] = append(byKind[head.Kind], doc)
		}
	}
	return byKind
}

// strict decodes a manifest into its Kubernetes type, refusing unknown
// fields: a misspelt field would otherwise be dropped by the API server.
func strict(t *testing.T, doc string, into any) {
	t.Helper()
	if err := yaml.UnmarshalStrict([]byte(doc), into); err != nil {
		t.Fatalf("%v\n%s", err, doc)
	}
}

func checkImage(t *testing.T, where string, containers []corev1.Container) {
	t.Helper()
	for _, c := range containers {
		_, tag, ok := strings.Cut(c.Image, ":")
		if !ok || tag == "" || tag == "latest" {
			t.Errorf("%s: image %q has no fixed tag", where, c.Image)
		}
	}
}

// masterKey is a made-up key for rendering.
const masterKey = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="

func TestChartRendersEveryRole(t *testing.T) {
	byKind := render(t, map[string]any{"secrets": map[string]any{"TALLY_MASTER_KEY": masterKey}})
	var deployed []string
	for _, doc := range byKind["Deployment"] {
		var d appsv1.Deployment
		strict(t, doc, &d)
		role := d.Spec.Template.Labels["app.kubernetes.io/component"]
		deployed = append(deployed, role)
		if len(d.Spec.Template.Spec.Containers) != 1 {
			t.Fatalf("%s: %d containers", d.Name, len(d.Spec.Template.Spec.Containers))
		}
		c := d.Spec.Template.Spec.Containers[0]
		if !slices.Equal(c.Args, []string{role}) {
			t.Errorf("%s runs %v, want the role %s", d.Name, c.Args, role)
		}
		for probe, path := range map[*corev1.Probe]string{c.LivenessProbe: "/healthz", c.ReadinessProbe: "/readyz"} {
			if probe == nil || probe.HTTPGet == nil || probe.HTTPGet.Path != path {
				t.Errorf("%s: no probe on %s", d.Name, path)
				continue
			}
			if port := probe.HTTPGet.Port.IntValue(); len(c.Ports) == 0 || int32(port) != c.Ports[0].ContainerPort {
				t.Errorf("%s: %s probed on %d, the container listens on %v", d.Name, path, port, c.Ports)
			}
		}
		checkImage(t, d.Name, d.Spec.Template.Spec.Containers)
		if len(c.EnvFrom) != 2 || c.EnvFrom[0].ConfigMapRef == nil || c.EnvFrom[1].SecretRef == nil {
			t.Errorf("%s: settings not from the ConfigMap and the Secret: %+v", d.Name, c.EnvFrom)
		}
	}
	if a, b := slices.Sorted(slices.Values(deployed)), slices.Sorted(slices.Values(roles)); !slices.Equal(a, b) {
		t.Fatalf("Deployments for %v, want %v", a, b)
	}
	if n := len(byKind["PodDisruptionBudget"]); n != len(roles) {
		t.Errorf("%d PodDisruptionBudgets, want one per role", n)
	}
	for _, doc := range byKind["PodDisruptionBudget"] {
		strict(t, doc, &policyv1.PodDisruptionBudget{})
	}
	if len(byKind["Job"]) != 1 {
		t.Fatalf("Jobs: %d, want the migrate hook", len(byKind["Job"]))
	}
	var job batchv1.Job
	strict(t, byKind["Job"][0], &job)
	if hook := job.Annotations["helm.sh/hook"]; hook != "pre-install,pre-upgrade" || !slices.Equal(job.Spec.Template.Spec.Containers[0].Args, []string{"migrate"}) {
		t.Errorf("migrate job: hook %q, args %v", hook, job.Spec.Template.Spec.Containers[0].Args)
	}
	checkImage(t, "migrate", job.Spec.Template.Spec.Containers)
	for _, kind := range []string{"ConfigMap", "Secret", "Service"} {
		if len(byKind[kind]) != 1 {
			t.Errorf("%d %s objects, want 1", len(byKind[kind]), kind)
		}
	}
	var secret corev1.Secret
	strict(t, byKind["Secret"][0], &secret)
	if secret.StringData["TALLY_MASTER_KEY"] != masterKey || secret.StringData["DB_PASSWORD"] != "" {
		t.Errorf("the Secret: %v", secret.StringData)
	}
	if len(byKind["CronJob"]) != 0 || len(byKind["ScaledObject"]) != 0 {
		t.Error("update-cron and KEDA are off by default")
	}
}

func TestChartOptionalParts(t *testing.T) {
	byKind := render(t, map[string]any{
		"image":      map[string]any{"tag": "1.4.2"},
		"updateCron": map[string]any{"enabled": true},
		"keda":       map[string]any{"enabled": true},
		"secrets":    map[string]any{"existingSecret": "tally-prod"},
	})
	if len(byKind["CronJob"]) != 1 {
		t.Fatalf("CronJobs: %d", len(byKind["CronJob"]))
	}
	var cron batchv1.CronJob
	strict(t, byKind["CronJob"][0], &cron)
	containers := cron.Spec.JobTemplate.Spec.Template.Spec.Containers
	if !slices.Equal(containers[0].Args, []string{"update-cron"}) || containers[0].Image != "ghcr.io/example/tally:1.4.2" {
		t.Errorf("update-cron: %v %s", containers[0].Args, containers[0].Image)
	}
	if len(byKind["ScaledObject"]) != 1 || !strings.Contains(byKind["ScaledObject"][0], "type: rabbitmq") {
		t.Fatalf("no RabbitMQ ScaledObject: %v", byKind["ScaledObject"])
	}
	if len(byKind["Secret"]) != 0 {
		t.Error("a Secret was made beside existingSecret")
	}
	for _, doc := range byKind["Deployment"] {
		var d appsv1.Deployment
		strict(t, doc, &d)
		if d.Spec.Template.Spec.Containers[0].EnvFrom[1].SecretRef.Name != "tally-prod" {
			t.Errorf("%s does not read existingSecret", d.Name)
		}
		if d.Spec.Template.Labels["app.kubernetes.io/component"] == "worker" && d.Spec.Replicas != nil {
			t.Error("the worker Deployment sets replicas while KEDA scales it")
		}
	}
}

// TestChartRefuses: values that would make a broken deployment stop the
// install with the value to set.
func TestChartRefuses(t *testing.T) {
	chrt, err := loader.Load("helm/tally")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		values map[string]any
		want   string
	}{
		{map[string]any{"image": map[string]any{"tag": "latest"}, "secrets": map[string]any{"TALLY_MASTER_KEY": masterKey}}, "image.tag"},
		{nil, "secrets.TALLY_MASTER_KEY"},
	} {
		vals, err := chartutil.ToRenderValues(chrt, tt.values,
			common.ReleaseOptions{Name: "tally", Namespace: "tally", IsInstall: true}, common.DefaultCapabilities)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := engine.Render(chrt, vals); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("rendering %v: %v, want an error naming %s", tt.values, err, tt.want)
		}
	}
}
