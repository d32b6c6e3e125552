package deploy

import (
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/promql/parser"
	"go.yaml.in/yaml/v3"

	"tally/metrics"
)

// grafanaVariables are the dashboard's built-in variables, replaced by a
// value of the same type before parsing.
var grafanaVariables = strings.NewReplacer("$__rate_interval", "5m", "$__interval", "1m", "$__range", "1h")

// checkExpr parses one PromQL expression and checks that every metric it
// selects is one Tally exports (a histogram's _bucket, _sum and _count
// series included).
func checkExpr(t *testing.T, where, expr string, exported []string) {
	t.Helper()
	e, err := parser.NewParser(parser.Options{}).ParseExpr(grafanaVariables.Replace(expr))
	if err != nil {
		t.Errorf("%s: %q: %v", where, expr, err)
		return
	}
	var selected int
	parser.Inspect(e, func(node parser.Node, _ []parser.Node) error {
		vs, ok := node.(*parser.VectorSelector)
		if !ok {
			return nil
		}
		selected++
		name := vs.Name
		if name == "" {
			t.Errorf("%s: %q selects by labels alone; name the metric", where, expr)
			return nil
		}
		base := name
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			if trimmed, ok := strings.CutSuffix(name, suffix); ok && slices.Contains(exported, trimmed) {
				base = trimmed
			}
		}
		if !slices.Contains(exported, base) {
			t.Errorf("%s: %q names %s, which Tally does not export", where, expr, name)
		}
		return nil
	})
	if selected == 0 {
		t.Errorf("%s: %q selects no metric", where, expr)
	}
}

func TestDashboardQueriesNameExportedMetrics(t *testing.T) {
	b, err := os.ReadFile("grafana/tally.json")
	if err != nil {
		t.Fatal(err)
	}
	var dashboard struct {
		Title  string `json:"title"`
		Panels []struct {
			Title   string `json:"title"`
			Type    string `json:"type"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(b, &dashboard); err != nil {
		t.Fatalf("grafana/tally.json: %v", err)
	}
	exported := metrics.New().Names()
	exprs := 0
	for _, p := range dashboard.Panels {
		if p.Type == "row" {
			continue
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, target := range p.Targets {
			exprs++
			checkExpr(t, "panel "+p.Title, target.Expr, exported)
		}
	}
	if exprs < 10 {
		t.Fatalf("the dashboard has %d queries", exprs)
	}
}

func TestAlertRulesParse(t *testing.T) {
	b, err := os.ReadFile("prometheus/alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Groups []struct {
			Name  string `yaml:"name"`
			Rules []struct {
				Alert       string            `yaml:"alert"`
				Expr        string            `yaml:"expr"`
				For         string            `yaml:"for"`
				Labels      map[string]string `yaml:"labels"`
				Annotations map[string]string `yaml:"annotations"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(b, &file); err != nil {
		t.Fatalf("prometheus/alerts.yml: %v", err)
	}
	exported := metrics.New().Names()
	var alerts []string
	for _, g := range file.Groups {
		for _, r := range g.Rules {
			alerts = append(alerts, r.Alert)
			checkExpr(t, "alert "+r.Alert, r.Expr, exported)
			if r.Labels["severity"] == "" || r.Annotations["summary"] == "" {
				t.Errorf("alert %s needs a severity label and a summary", r.Alert)
			}
		}
	}
	for _, want := range []string{"TallyProjectorLagging", "TallyQueueGrowing", "TallyDeadLetters", "TallyWebhooksFailing", "TallyNoWorker"} {
		if !slices.Contains(alerts, want) {
			t.Errorf("no alert %s", want)
		}
	}
}
