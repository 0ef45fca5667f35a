package main

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/sitrep-io/sitrep/bot"
	"github.com/sitrep-io/sitrep/internal/slackfake"
)

// TestServeMetrics scrapes GET /metrics of a real server after real work:
// an alert webhook opens an incident, its channel is created in the Slack
// stand-in after one 429, it is acknowledged and resolved from Slack. Each
// series has the value the work gives it; labels are route patterns, never
// raw paths, and the incident's title appears nowhere.
func TestServeMetrics(t *testing.T) {
	fake := slackfake.New(t)
	fake.FailNext("conversations.create", slackfake.RateLimited(1))
	addr := startServe(t, map[string]string{"SLACK_BOT_TOKEN": slackfake.BotToken, "SLACK_SIGNING_SECRET": "test-secret",
		"SLACK_API_URL": fake.URL(), "SITREP_WEBHOOK_TOKEN": "hook-secret", "SITREP_METRICS_TOKEN": "metrics-secret"})

	// The scrape needs the token.
	for _, auth := range []string{"", "Bearer wrong", "metrics-secret"} {
		if code, _ := get(t, "http://"+addr+"/metrics", auth); code != http.StatusUnauthorized {
			t.Errorf("GET /metrics with Authorization %q: %d, want 401", auth, code)
		}
	}

	const title = "Checkout secret-project failing"
	detected := time.Now().Add(-10 * time.Minute).UTC().Truncate(time.Second)
	body := fmt.Sprintf(`{"title": %q, "severity": "SEV2", "dedup_key": "checkout", "source": "grafana", "occurred_at": %q}`,
		title, detected.Format(time.RFC3339))
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/webhooks/alert", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer hook-secret")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("alert webhook: %d, want 201", resp.StatusCode)
	}
	if code, _ := get(t, "http://"+addr+"/incidents/12345/no-such-page", ""); code != http.StatusNotFound {
		t.Fatalf("unknown path: %d, want 404", code)
	}
	var channel slackfake.Channel
	if !fake.WaitUntil(20*time.Second, func() bool {
		var ok bool
		channel, ok = fake.Channel("inc-1-checkout-secret-project-failing")
		return ok
	}) {
		t.Fatal("the incident channel was not created in Slack")
	}
	if n := len(fake.CallsTo("conversations.create")); n != 2 {
		t.Fatalf("conversations.create called %d times, want 2 (the 429, then the channel)", n)
	}

	// The fake has the channel a moment before the outbox records it.
	fams := scrapeUntil(t, addr, "sitrep_deliveries_total", map[string]string{"op": bot.OpCreateChannel, "result": "delivered"}, 1)
	want := []struct {
		name   string
		labels map[string]string
		value  float64
	}{
		{"sitrep_http_requests_total", map[string]string{"handler": "/webhooks/alert", "code": "201"}, 1},
		{"sitrep_http_requests_total", map[string]string{"handler": "unmatched", "code": "404"}, 1},
		{"sitrep_vendor_rate_limited_total", map[string]string{"vendor": "slack", "method": "conversations.create"}, 1},
		{"sitrep_deliveries_total", map[string]string{"op": bot.OpCreateChannel, "result": "rate_limited"}, 1},
		{"sitrep_deliveries_total", map[string]string{"op": bot.OpCreateChannel, "result": "delivered"}, 1},
		{"sitrep_incidents_open", map[string]string{"severity": "SEV2"}, 1},
		{"sitrep_incidents_open", map[string]string{"severity": "SEV1"}, 0},
		{"sitrep_incident_time_to_acknowledge_seconds", nil, 0}, // count: none acknowledged yet
	}
	for _, w := range want {
		if got, ok := sample(fams, w.name, w.labels); !ok || got != w.value {
			t.Errorf("%s%v = %v (present %v), want %v", w.name, w.labels, got, ok, w.value)
		}
	}
	if got, ok := sample(fams, "sitrep_http_request_duration_seconds", map[string]string{"handler": "/webhooks/alert"}); !ok || got != 1 {
		t.Errorf("request duration histogram of /webhooks/alert: count %v (present %v), want 1", got, ok)
	}
	for _, name := range []string{"go_goroutines", "process_cpu_seconds_total", "sitrep_outbox_oldest_pending_seconds"} {
		if _, ok := fams[name]; !ok {
			t.Errorf("%s is not served", name)
		}
	}

	for _, cmd := range []string{"INC-1 ack", "INC-1 resolve"} {
		if status, body := postSlash(t, addr, "test-secret", cmd); status != http.StatusOK {
			t.Fatalf("/incident %s: %d %s", cmd, status, body)
		}
	}
	// Slack's commands are acknowledged first and carried out after.
	fams = scrapeUntil(t, addr, "sitrep_incident_time_to_resolve_seconds", nil, 1)
	if got, _ := sample(fams, "sitrep_incidents_open", map[string]string{"severity": "SEV2"}); got != 0 {
		t.Errorf("open SEV2 incidents after the resolve: %v, want 0", got)
	}
	for _, name := range []string{"sitrep_incident_time_to_acknowledge_seconds", "sitrep_incident_time_to_resolve_seconds"} {
		h := histogram(fams, name)
		if h == nil || h.GetSampleCount() != 1 || h.GetSampleSum() < 600 || h.GetSampleSum() > 700 {
			t.Errorf("%s = %v, want one observation of about 600 s (detected 10 minutes ago)", name, h)
		}
	}
	if got, ok := sample(fams, "sitrep_http_requests_total", map[string]string{"handler": "POST /slack/commands", "code": "200"}); !ok || got != 2 {
		t.Errorf("slash commands counted %v (present %v), want 2", got, ok)
	}
	_, text := get(t, "http://"+addr+"/metrics", "Bearer metrics-secret")
	for _, leak := range []string{"secret-project", "12345", "hook-secret", "xoxb-", channel.ID} {
		if strings.Contains(text, leak) {
			t.Errorf("the scrape shows %q", leak)
		}
	}
}

func get(t *testing.T, url, auth string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// scrape reads the server's metrics as Prometheus parses them.
func scrape(t *testing.T, addr string) map[string]*dto.MetricFamily {
	t.Helper()
	code, text := get(t, "http://"+addr+"/metrics", "Bearer metrics-secret")
	if code != http.StatusOK {
		t.Fatalf("GET /metrics: %d %s", code, text)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		t.Fatalf("parse the scrape: %v\n%s", err, text)
	}
	return fams
}

// scrapeUntil scrapes until the series of name with labels has value, and
// returns that scrape; it fails the test after 20 s.
func scrapeUntil(t *testing.T, addr, name string, labels map[string]string, value float64) map[string]*dto.MetricFamily {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		fams := scrape(t, addr)
		got, ok := sample(fams, name, labels)
		if ok && got == value {
			return fams
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s%v = %v (present %v) after 20 s, want %v", name, labels, got, ok, value)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// sample is the value of the series of name with exactly labels: a
// counter's or gauge's value, a histogram's count.
func sample(fams map[string]*dto.MetricFamily, name string, labels map[string]string) (float64, bool) {
	fam, ok := fams[name]
	if !ok {
		return 0, false
	}
next:
	for _, m := range fam.GetMetric() {
		if len(m.GetLabel()) != len(labels) {
			continue
		}
		for _, l := range m.GetLabel() {
			if labels[l.GetName()] != l.GetValue() {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.GetCounter().GetValue(), true
		case m.Gauge != nil:
			return m.GetGauge().GetValue(), true
		case m.Histogram != nil:
			return float64(m.GetHistogram().GetSampleCount()), true
		}
	}
	return 0, false
}

func histogram(fams map[string]*dto.MetricFamily, name string) *dto.Histogram {
	fam, ok := fams[name]
	if !ok || len(fam.GetMetric()) != 1 {
		return nil
	}
	return fam.GetMetric()[0].GetHistogram()
}
