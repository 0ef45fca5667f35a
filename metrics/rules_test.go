package metrics_test

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/sitrep-io/sitrep/bot"
	"github.com/sitrep-io/sitrep/metrics"
)

const rulesFile = "../docs/prometheus/sitrep-rules.yml"

// TestAlertRulesNameServedMetrics: every sitrep_ metric the documented
// alert rules use is one sitrep serves (a rename breaks this, not the
// alerts in silence), and docs/deploy.md shows the rules file as it is.
func TestAlertRulesNameServedMetrics(t *testing.T) {
	rules, err := os.ReadFile(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	m := metrics.New(openStore(t), nil, nil)
	m.Delivered(bot.OpPost, bot.DeliveryGivenUp) // a vector shows once it has a series
	m.RateLimited(metrics.VendorSlack, "chat.postMessage")
	fams, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	served := map[string]bool{}
	for _, f := range fams {
		served[f.GetName()] = true
	}
	used := regexp.MustCompile(`\bsitrep_[a-z_]+\b`).FindAllString(string(rules), -1)
	if len(used) == 0 {
		t.Fatal("the rules use no sitrep metric")
	}
	for _, name := range used {
		if !served[name] {
			t.Errorf("the alert rules use %s, which sitrep does not serve", name)
		}
	}
	doc, err := os.ReadFile("../docs/deploy.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(doc), string(rules)) {
		t.Errorf("docs/deploy.md does not show %s as it is", rulesFile)
	}
}

// TestAlertRulesPromtool checks the rules' syntax and runs their unit tests
// (docs/prometheus/sitrep-rules.test.yml) with Prometheus's promtool, when
// it is installed (Debian: apt-get install prometheus).
func TestAlertRulesPromtool(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool is not installed (apt-get install prometheus, or go install github.com/prometheus/prometheus/cmd/promtool): the alert rules are not checked")
	}
	for _, args := range [][]string{{"check", "rules", "sitrep-rules.yml"}, {"test", "rules", "sitrep-rules.test.yml"}} {
		cmd := exec.Command(promtool, args...)
		cmd.Dir = "../docs/prometheus"
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}
