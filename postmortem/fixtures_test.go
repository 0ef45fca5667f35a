package postmortem_test

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the tests need America/Los_Angeles wherever they run

	"github.com/sitrep-io/sitrep/bot"
	"github.com/sitrep-io/sitrep/postmortem"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// golden compares got with testdata/name, or rewrites it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./postmortem -update to create it)", err)
	}
	if bytes.Equal(got, want) {
		return
	}
	g, w := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
	for i := range max(len(g), len(w)) {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			t.Fatalf("%s differs at line %d:\n got: %s\nwant: %s\n(run go test ./postmortem -update after checking the change)", path, i+1, gl, wl)
		}
	}
}

func loc(t *testing.T, name string) *time.Location {
	t.Helper()
	l, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// timeline builds events with ids in the order given.
type timeline []bot.Event

func (tl *timeline) add(at, kind, actor, text string, data map[string]any, url ...string) {
	ev := bot.Event{ID: int64(len(*tl) + 1), IncidentID: 1, OccurredAt: utc(at), RecordedAt: utc(at),
		Kind: bot.EventKind(kind), Actor: actor, Text: text, Data: data}
	if len(url) > 0 {
		ev.SourceURL = url[0]
	}
	*tl = append(*tl, ev)
}

func status(from, to, msg string) map[string]any {
	return map[string]any{"from": from, "to": to, "message": msg, "reopened": false}
}

func update1(status string) map[string]any {
	return map[string]any{"status": status, "severity": "SEV1"}
}

const investigating = "Some customers may be experiencing issues accessing their online store. Our engineers are investigating the root cause of this issue, and we will provide updates as soon as possible. We are working to resolve this ASAP."

// seedInput is the seed outage (seed-incident.md) as sitrep would have
// recorded it: alert at 17:06 PT on 2020-10-07, pool scale-up and reboots
// at 18:50 PT, full reboot at 19:05 PT, identified at 20:45 PT, stores back
// at 21:37 PT, and the status-page updates at their UTC times.
func seedInput(l *time.Location) postmortem.Input {
	var tl timeline
	alertURL := "https://grafana.example.com/alerting/platform-api-500"
	tl.add("2020-10-08T00:06:00Z", "alert_fired", "alert:grafana", "alert fired: Platform API returning 500",
		map[string]any{"labels": map[string]any{"service": "api-gateway"}}, alertURL)
	tl.add("2020-10-08T00:06:00Z", "declared", "alert:grafana", "declared INC-1 SEV1 from a grafana alert: Platform API returning 500", nil)
	tl.add("2020-10-08T00:06:02Z", "channel_created", "system", "channel #inc-1-platform-api-returning-500 created",
		map[string]any{"channel_id": "C0SEED", "name": "inc-1-platform-api-returning-500"})
	tl.add("2020-10-08T00:09:00Z", "acknowledged", "U0LEAD", "status triggered → investigating: acknowledged", status("triggered", "investigating", "acknowledged"))
	tl.add("2020-10-08T00:09:30Z", "role_assigned", "U0LEAD", bot.Mention("U0LEAD")+" is commander", map[string]any{"role": "commander", "user": "U0LEAD"})
	tl.add("2020-10-08T00:11:00Z", "role_assigned", "U0LEAD", bot.Mention("U0COMMS")+" is comms", map[string]any{"role": "comms", "user": "U0COMMS"})
	tl.add("2020-10-08T00:13:00Z", "status_update", "U0COMMS", investigating, update1("investigating"))
	tl.add("2020-10-08T00:20:00Z", "note", "U0DEV", "API gateway reports degraded health; inbound traffic spiked far outside the nominal range", nil)
	tl.add("2020-10-08T00:51:00Z", "status_update", "U0COMMS", investigating, update1("investigating"))
	tl.add("2020-10-08T01:23:00Z", "status_update", "U0COMMS", investigating, update1("investigating"))
	tl.add("2020-10-08T01:50:00Z", "runbook_requested", "U0DEV", "requested RUN-1: pool-scale-up (pool=api, count=8); waiting for approval until 02:05",
		map[string]any{"run": 1.0, "runbook": "pool-scale-up", "needs_approval": true,
			"steps": []any{"exec ./scripts/scale-pool.sh --pool api --count 8", "exec ./scripts/rolling-restart.sh --pool api"}})
	tl.add("2020-10-08T01:50:40Z", "runbook_approved", "U0LEAD", "approved RUN-1 (pool-scale-up)", map[string]any{"run": 1.0, "runbook": "pool-scale-up"})
	tl.add("2020-10-08T01:52:10Z", "runbook_step_finished", "system", "RUN-1 step 2/2 restart succeeded: exit 0",
		map[string]any{"run": 1.0, "runbook": "pool-scale-up", "step": "restart", "status": "succeeded", "exit_code": 0.0,
			"output": "pool api: 4 → 8 instances\nrebooting 4 instances\nall instances report healthy"})
	tl.add("2020-10-08T01:52:10Z", "runbook_succeeded", "system", "RUN-1 (pool-scale-up) succeeded", map[string]any{"run": 1.0, "runbook": "pool-scale-up"})
	tl.add("2020-10-08T01:55:00Z", "note", "U0DEV", "All servers came back healthy, but the load balancer still reports failures", nil)
	tl.add("2020-10-08T02:05:00Z", "note", "U0DEV", "Starting a full reboot of all infrastructure servers", nil)
	tl.add("2020-10-08T02:07:00Z", "status_update", "U0COMMS", investigating, update1("investigating"))
	tl.add("2020-10-08T02:31:00Z", "message_pinned", "U0DEV", "Cert for the Platform API is valid and not expired, but the gateway (reverse proxy) returns 500 for it",
		map[string]any{"channel": "C0SEED", "ts": "1602124260.000200", "pinned_by": "U0LEAD", "state": "fetched"},
		"https://example.slack.com/archives/C0SEED/p1602124260000200")
	tl.add("2020-10-08T03:01:00Z", "status_update", "U0COMMS", investigating, update1("investigating"))
	tl.add("2020-10-08T03:45:00Z", "status_changed", "U0LEAD", "status investigating → identified: the daily certificate renewal wrote an invalid gateway config",
		status("investigating", "identified", "the daily certificate renewal wrote an invalid gateway config"))
	tl.add("2020-10-08T03:53:00Z", "status_update", "U0COMMS", "We are continuing to investigate this issue - we'll continue to post updates in real-time via this status page.\n\nWe understand the impact any downtime has and appreciate your patience while we work through this.\n\nWe sincerely apologize for this inconvenience & assure you that all efforts are focused on getting your online stores running ASAP!", update1("identified"))
	tl.add("2020-10-08T04:20:00Z", "runbook_requested", "U0DEV", "requested RUN-2: gateway-cert-reorder (domain=api.olla.example)",
		map[string]any{"run": 2.0, "runbook": "gateway-cert-reorder", "needs_approval": true,
			"steps": []any{"exec ./scripts/reorder-cert.sh --no-install api.olla.example"}})
	tl.add("2020-10-08T04:24:00Z", "runbook_approved", "U0LEAD", "approved RUN-2 (gateway-cert-reorder)", map[string]any{"run": 2.0, "runbook": "gateway-cert-reorder"})
	tl.add("2020-10-08T04:36:00Z", "runbook_step_finished", "system", "RUN-2 step 1/1 reorder succeeded: exit 0",
		map[string]any{"run": 2.0, "runbook": "gateway-cert-reorder", "step": "reorder", "status": "succeeded", "exit_code": 0.0,
			"output": "ordered a new certificate for api.olla.example (not installed)\ngateway configuration rewritten\nGET https://api.olla.example/health: 200"})
	tl.add("2020-10-08T04:36:00Z", "runbook_succeeded", "system", "RUN-2 (gateway-cert-reorder) succeeded", map[string]any{"run": 2.0, "runbook": "gateway-cert-reorder"})
	tl.add("2020-10-08T04:37:00Z", "status_changed", "U0LEAD", "status identified → monitoring: all retailer online stores are back up",
		status("identified", "monitoring", "all retailer online stores are back up"))
	tl.add("2020-10-08T04:42:00Z", "status_update", "U0COMMS", "A fix has been implemented for this issue and full functionality for accessing online stores has been resumed.", update1("monitoring"))
	tl.add("2020-10-08T04:50:00Z", "followup_added", "U0LEAD", "follow-up: Alert when the gateway's certificate renewal writes a configuration", map[string]any{"owner": "U0DEV"})
	tl.add("2020-10-08T04:51:00Z", "followup_added", "U0LEAD", "follow-up: Evaluate a replacement for the reverse proxy's automatic SSL management", map[string]any{"owner": ""})
	tl.add("2020-10-08T04:56:00Z", "status_changed", "U0LEAD", "status monitoring → resolved: full functionality restored",
		status("monitoring", "resolved", "full functionality restored"))
	tl.add("2020-10-08T04:56:00Z", "status_update", "U0COMMS", "This incident has been resolved and full functionality has been restored. We will post a post-mortem tomorrow with more technical details and the steps we'll be taking to address this going forward.", update1("resolved"))

	inc := bot.Incident{ID: 1, Title: "Platform API returning 500", Severity: bot.SEV1, Status: bot.StatusResolved,
		Commander: "U0LEAD", CommsLead: "U0COMMS", ChannelID: "C0SEED", ChannelName: "inc-1-platform-api-returning-500",
		Source: "grafana", DedupKey: "platform-api-500", SourceURL: alertURL, Labels: map[string]string{"service": "api-gateway"},
		DetectedAt: utc("2020-10-08T00:06:00Z"), DeclaredAt: utc("2020-10-08T00:06:00Z"), AcknowledgedAt: utc("2020-10-08T00:09:00Z"),
		MitigatedAt: utc("2020-10-08T04:37:00Z"), ResolvedAt: utc("2020-10-08T04:56:00Z")}
	return postmortem.Input{
		Incident: inc, Events: tl, Location: l, ReminderInterval: 30 * time.Minute, DraftedAt: utc("2020-10-08T05:10:00Z"),
		Names: map[string]string{"U0LEAD": "Lena Ortiz", "U0DEV": "Dev Patel", "U0COMMS": "Cam Rivera"},
		FollowUps: []bot.FollowUp{
			{ID: 1, IncidentID: 1, Text: "Alert when the gateway's certificate renewal writes a configuration", Owner: "U0DEV",
				CreatedBy: "U0LEAD", CreatedAt: utc("2020-10-08T04:50:00Z"), EventID: 29},
			{ID: 2, IncidentID: 1, Text: "Evaluate a replacement for the reverse proxy's automatic SSL management",
				CreatedBy: "U0LEAD", CreatedAt: utc("2020-10-08T04:51:00Z"), EventID: 30},
		},
	}
}

// shakespeareInput is the Google SRE book's "Shakespeare" postmortem
// (2015-10-21 UTC) as POSTMORTEM.md's fixture gives it: impact start 14:54,
// first page 14:55, first responder action 14:58, declared 15:01, mitigated
// 15:36, impact end 16:00, incident end 16:30.
func shakespeareInput() postmortem.Input {
	var tl timeline
	tl.add("2015-10-21T14:54:00Z", "impact_set", "U0JENN", "impact start set to 2015-10-21T14:54:00Z", map[string]any{"which": "start", "at": "2015-10-21T14:54:00Z"})
	tl.events(-1).RecordedAt = utc("2015-10-21T17:00:00Z")
	tl.add("2015-10-21T14:55:00Z", "alert_fired", "alert:pagerduty", "alert fired: ManyHttp500s", nil, "https://example.pagerduty.com/incidents/PSHAKES")
	tl.add("2015-10-21T14:58:00Z", "note", "U0JENN", "Looking at the 500s: every Shakespeare search backend is overloaded", nil)
	tl.add("2015-10-21T15:01:00Z", "declared", "U0JENN", "declared INC-1 SEV1: Shakespeare search down after a sonnet discovery", nil)
	tl.add("2015-10-21T15:01:00Z", "status_changed", "U0JENN", "status triggered → investigating: declaring an incident; I am the commander",
		status("triggered", "investigating", "declaring an incident; I am the commander"))
	tl.add("2015-10-21T15:01:30Z", "role_assigned", "U0JENN", "<@U0JENN> is commander", map[string]any{"role": "commander", "user": "U0JENN"})
	tl.add("2015-10-21T15:10:00Z", "status_update", "U0JENN", "Shakespeare search is failing for most queries; we are investigating.", update1("investigating"))
	tl.add("2015-10-21T15:36:00Z", "status_changed", "U0ABE", "status investigating → monitoring: traffic sent to the sacrificial cluster",
		status("investigating", "monitoring", "traffic sent to the sacrificial cluster"))
	tl.add("2015-10-21T15:45:00Z", "status_update", "U0JENN", "Mitigated: searches succeed again while the backends recover.", update1("monitoring"))
	tl.add("2015-10-21T16:00:00Z", "impact_set", "U0JENN", "impact end set to 2015-10-21T16:00:00Z", map[string]any{"which": "end", "at": "2015-10-21T16:00:00Z"})
	tl.events(-1).RecordedAt = utc("2015-10-21T17:01:00Z")
	tl.add("2015-10-21T16:30:00Z", "status_changed", "U0JENN", "status monitoring → resolved: backends healthy, sonnet++ load handled",
		status("monitoring", "resolved", "backends healthy, sonnet++ load handled"))
	inc := bot.Incident{ID: 1, Title: "Shakespeare search down after a sonnet discovery", Severity: bot.SEV1, Status: bot.StatusResolved,
		Commander: "U0JENN", Source: "pagerduty", SourceURL: "https://example.pagerduty.com/incidents/PSHAKES",
		DetectedAt: utc("2015-10-21T14:55:00Z"), DeclaredAt: utc("2015-10-21T15:01:00Z"), AcknowledgedAt: utc("2015-10-21T15:01:00Z"),
		MitigatedAt: utc("2015-10-21T15:36:00Z"), ResolvedAt: utc("2015-10-21T16:30:00Z")}
	return postmortem.Input{
		Incident: inc, Events: tl, Location: time.UTC, ReminderInterval: 30 * time.Minute, DraftedAt: utc("2015-10-21T17:05:00Z"),
		Names:  map[string]string{"U0JENN": "Jennifer", "U0ABE": "Abe"},
		Impact: bot.ImpactAnchors{StartedAt: utc("2015-10-21T14:54:00Z"), StartedBy: "U0JENN", EndedAt: utc("2015-10-21T16:00:00Z"), EndedBy: "U0JENN"},
		FollowUps: []bot.FollowUp{{ID: 1, IncidentID: 1, Text: "Update the playbook with instructions for responding to cascading failure",
			Owner: "U0JENN", CreatedBy: "U0JENN", CreatedAt: utc("2015-10-21T16:40:00Z"),
			IssueNumber: 7, IssueURL: "https://github.com/acme/postmortems/issues/7"}},
	}
}

// dstInput crosses UTC midnight, Pacific midnight and the end of daylight
// saving time in America/Los_Angeles (2020-11-01 02:00 PDT → 01:00 PST), so
// 01:30 happens twice.
func dstInput(l *time.Location) postmortem.Input {
	var tl timeline
	tl.add("2020-10-31T23:50:00Z", "alert_fired", "alert:webhook", "alert fired: Checkout latency above 2s", nil)
	tl.add("2020-10-31T23:50:00Z", "declared", "alert:webhook", "declared INC-1 SEV2 from a webhook alert: Checkout latency above 2s", nil)
	tl.add("2020-11-01T00:10:00Z", "acknowledged", "U0ANA", "status triggered → investigating: acknowledged", status("triggered", "investigating", "acknowledged"))
	tl.add("2020-11-01T06:55:00Z", "note", "U0ANA", "Latency still climbing; the queue backlog grows by 5k per minute", nil)
	tl.add("2020-11-01T08:30:00Z", "status_update", "U0ANA", "Checkout is slow for most customers; a fix is being tested.", map[string]any{"status": "identified", "severity": "SEV2"})
	tl.add("2020-11-01T09:10:00Z", "note", "U0BO", "Clocks went back an hour; the cron that drains the queue ran twice", nil)
	tl.add("2020-11-01T09:30:00Z", "status_update", "U0ANA", "Still slow; draining the backlog.", map[string]any{"status": "identified", "severity": "SEV2"})
	tl.add("2020-11-01T10:30:00Z", "status_changed", "U0ANA", "status identified → monitoring: backlog drained",
		status("identified", "monitoring", "backlog drained"))
	tl.add("2020-11-01T11:00:00Z", "status_changed", "U0ANA", "status monitoring → resolved", status("monitoring", "resolved", ""))
	inc := bot.Incident{ID: 1, Title: "Checkout latency above 2s", Severity: bot.SEV2, Status: bot.StatusResolved, Commander: "U0ANA",
		Source: "webhook", DetectedAt: utc("2020-10-31T23:50:00Z"), DeclaredAt: utc("2020-10-31T23:50:00Z"),
		AcknowledgedAt: utc("2020-11-01T00:10:00Z"), MitigatedAt: utc("2020-11-01T10:30:00Z"), ResolvedAt: utc("2020-11-01T11:00:00Z")}
	return postmortem.Input{Incident: inc, Events: tl, Location: l, ReminderInterval: time.Hour, DraftedAt: utc("2020-11-01T11:30:00Z"),
		Names: map[string]string{"U0ANA": "Ana Lima", "U0BO": "Bo Chen"}}
}

// events returns the i-th event (negative: from the end) for adjusting.
func (tl timeline) events(i int) *bot.Event {
	if i < 0 {
		i += len(tl)
	}
	return &tl[i]
}
