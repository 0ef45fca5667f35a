package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sitrep-io/sitrep/internal/slackfake"
)

// runDemoCommand runs `sitrep demo args...` as the binary would and returns
// its exit status and output.
func runDemoCommand(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var stdout, stderr syncBuffer
	code := run(ctx, append([]string{"demo"}, args...), testEnv(nil, &stdout, &stderr))
	return code, stdout.String(), stderr.String()
}

// TestDemo replays the seed night through `sitrep demo` and reads the
// postmortem it wrote (the file of the pull request on the GitHub
// stand-in): the seed's key times and 4h 31m of impact, the runbook actions
// (requested and approved by different people, the failed probe, the
// successful re-order) and every status-page post.
func TestDemo(t *testing.T) {
	out := filepath.Join(t.TempDir(), "postmortem.md")
	code, stdout, stderr := runDemoCommand(t, "--out", out, "--pace", "0")
	if code != 0 {
		t.Fatalf("sitrep demo: exit %d\nstderr:\n%s\nstdout:\n%s", code, stderr, stdout)
	}
	raw, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	pm := string(raw)
	if !strings.HasPrefix(pm, "# Postmortem: INC-1 Platform API returning 500\n") {
		t.Errorf("the file is not the postmortem:\n%.300s", pm)
	}

	for _, want := range []string{
		"| `first_alert_at` | 2020-10-08T00:06:00Z | 2020-10-07 17:06:00 PDT |",
		"| `impact_ended_at` | 2020-10-08T04:37:00Z | 2020-10-07 21:37:00 PDT | set by Lena Ortiz with `/incident impact end` |",
		"| `first_ack_at` | 2020-10-08T00:13:00Z | 2020-10-07 17:13:00 PDT | acknowledged by Lena Ortiz |",
		"| `mitigated_at` | 2020-10-08T04:42:00Z |",
		"| `resolved_at` | 2020-10-08T04:56:00Z | 2020-10-07 21:56:00 PDT |",
		"| impact duration | 4h 31m | `impact_started_at` 2020-10-08T00:06:00Z | `impact_ended_at` 2020-10-08T04:37:00Z |",
		"| Services | Platform API |",
		"| Owner | Lena Ortiz |",
		"| Participants | Lena Ortiz (commander), Cam Rivera (comms lead), Dev Patel |",
		// The status page: the first update and the resolution were published.
		"Public updates, as published to customers:",
		"- 2020-10-08 00:13 UTC (Oct 7 17:13 PDT), Cam Rivera (investigating, the status page): Service disruption",
		"- 2020-10-08 04:56 UTC (Oct 7 21:56 PDT), Cam Rivera (resolved, the status page): Service disruption",
	} {
		if !strings.Contains(pm, want) {
			t.Errorf("the postmortem lacks %q", want)
		}
	}

	runs := map[string][]string{
		"### RUN-1 pool-scale-up": {"- Requested: Dev Patel, 2020-10-08 01:50 UTC (Oct 7 18:50 PDT)",
			"- Approved: Lena Ortiz, 2020-10-08 01:50 UTC", "- Result: succeeded", "scaled to 12 instances"},
		"### RUN-2 platform-api-probe": {"- Requested: Dev Patel", "- Approved: none required",
			"- Result: failed", "500 Internal Server Error", "invalid upstream TLS configuration"},
		"### RUN-3 gateway-cert-audit": {"- Result: failed", "500 Internal Server Error"},
		"### RUN-4 gateway-cert-reorder": {"- Requested: Dev Patel, 2020-10-08 04:37 UTC (Oct 7 21:37 PDT)",
			"- Approved: Lena Ortiz", "- Result: succeeded", `"installed":false`, `{"status":"ok","service":"platform-api"}`},
	}
	for heading, wants := range runs {
		sec := section(pm, heading, "\n### ", "\n## ")
		if sec == "" {
			t.Errorf("the postmortem has no %q", heading)
			continue
		}
		for _, want := range wants {
			if !strings.Contains(sec, want) {
				t.Errorf("%s lacks %q:\n%s", heading, want, sec)
			}
		}
	}
	if !strings.Contains(pm, "certificate for platform.olla.example valid") {
		t.Error("the postmortem does not say the audit found the certificate valid")
	}
	if !strings.Contains(pm, "refused to let @Dev Patel approve RUN-4") {
		t.Error("the requester's own approval of the re-order was not refused on the record (two-person rule)")
	}

	comms := section(pm, "## Communications", "\n## ")
	for _, want := range []string{
		"2020-10-08 00:13 UTC (Oct 7 17:13 PDT), Cam Rivera (SEV1 investigating):\n  > " + seedInvestigating,
		"2020-10-08 00:51 UTC (Oct 7 17:51 PDT), Cam Rivera",
		"2020-10-08 01:23 UTC (Oct 7 18:23 PDT), Cam Rivera",
		"2020-10-08 02:07 UTC (Oct 7 19:07 PDT), Cam Rivera",
		"2020-10-08 03:01 UTC (Oct 7 20:01 PDT), Cam Rivera",
		"2020-10-08 03:53 UTC (Oct 7 20:53 PDT), Cam Rivera (SEV1 identified):\n  > We are continuing to investigate this issue",
		"2020-10-08 04:42 UTC (Oct 7 21:42 PDT), Cam Rivera (SEV1 monitoring):\n  > " + seedMonitoring,
		"2020-10-08 04:56 UTC (Oct 7 21:56 PDT), Cam Rivera (SEV1 resolved):\n  > This incident has been resolved",
		"Longest gap between status updates: 0h 54m",
	} {
		if !strings.Contains(comms, want) {
			t.Errorf("the communications section lacks %q:\n%s", want, comms)
		}
	}
	internal, _, _ := strings.Cut(comms, "Public updates, as published to customers:")
	if n := strings.Count(internal, seedInvestigating); n != 5 {
		t.Errorf("the seed's repeated update appears %d times among the status updates, want 5", n)
	}

	for _, want := range []string{
		"[17:06 PDT] ── monitoring: GET https://127.0.0.1:",
		"#inc-1-platform-api-returning-500  sitrep: INC-1 SEV1: Platform API returning 500 (triggered)",
		"[17:43 PDT] #inc-1-platform-api-returning-500  sitrep: @Lena Ortiz: INC-1 (SEV1, investigating) has had no status update for 30 min",
		"sitrep → only Dev Patel sees: RUN-4 needs two people",
		// The update form's drafts, from what the timeline recorded since
		// the previous update, and the guard against the seed's repeats.
		"↳ only Cam Rivera sees the update form, drafted: No change since 17:51.",
		"↳ only Cam Rivera sees the update form, drafted: At 18:50, runbook pool-scale-up (RUN-1), requested by @dev and approved by @lena, succeeded.",
		"Scaled up the server pool and rebooted the existing servers: all came back online with positive health statuses, but the load balancer still reports failures. (@dev, 18:50)",
		"↳ only Cam Rivera sees: INC-1: this repeats the status update of 17:13 (by @Cam Rivera) word for word, so it was not posted.",
		"PagerDuty incident #1, written back by sitrep: acknowledged at 17:13 PDT, resolved at 21:56 PDT",
		// As the GitHub stand-in holds it: open, from the export branch,
		// with the postmortem file.
		"GitHub pull request #3 on the local GitHub stand-in (open, sitrep/postmortem-inc-1 → main, adds postmortems/2020-10-08-inc-1-platform-api-returning-500.md): https://github.com/olla/incidents/pull/3",
		"Postmortem draft (as exported): " + out,
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("the transcript lacks %q", want)
		}
	}
	if strings.Contains(stdout+stderr, demoSlackSecret) || strings.Contains(stdout+stderr, demoPDSecret) {
		t.Error("a secret reached the output")
	}
}

// TestDemoFailsClearly: when Slack refuses the incident channel, the replay
// stops at the first step with an exit status of 1, says why, and leaves
// an existing output file alone.
func TestDemoFailsClearly(t *testing.T) {
	out := filepath.Join(t.TempDir(), "pm.md")
	if err := os.WriteFile(out, []byte("keep me"), 0o644); err != nil {
		t.Fatal(err)
	}
	var w bytes.Buffer
	_, err := runDemo(context.Background(), demoOptions{w: &w, logs: &tailBuffer{max: 1 << 16}, out: out,
		prepare: func(d *demo) { d.slack.SetFault("conversations.create", slackfake.SlackError("restricted_action")) }})
	if err == nil {
		t.Fatalf("the demo succeeded without an incident channel:\n%s", w.String())
	}
	t.Logf("the demo stopped with: %v", err)
	if msg := err.Error(); !strings.Contains(msg, "step 1 at 00:06:00 UTC") || !strings.Contains(msg, "gave up on outbox entry") {
		t.Errorf("error %q does not name the step and what failed", msg)
	}
	if raw, _ := os.ReadFile(out); string(raw) != "keep me" {
		t.Errorf("a failed demo changed the output file: %q", raw)
	}
}

func TestDemoUsage(t *testing.T) {
	if code, _, stderr := runDemoCommand(t, "--bogus"); code != 2 || !strings.Contains(stderr, demoUsage) {
		t.Errorf("--bogus: exit %d, %q; want 2 and the usage line", code, stderr)
	}
	if code, _, stderr := runDemoCommand(t, "extra"); code != 2 || !strings.Contains(stderr, demoUsage) {
		t.Errorf("an extra argument: exit %d, %q; want 2 and the usage line", code, stderr)
	}
	code, stdout, stderr := runDemoCommand(t, "--out", filepath.Join(t.TempDir(), "missing", "pm.md"))
	if code != 1 || !strings.Contains(stderr, "--out") {
		t.Errorf("an unwritable --out: exit %d, %q; want 1 and advice to choose another file", code, stderr)
	}
	if stdout != "" {
		t.Errorf("an unwritable --out was reported only after a replay:\n%s", stdout)
	}
}

// section returns the text of s from heading up to the first of ends after
// it ("" without the heading).
func section(s, heading string, ends ...string) string {
	i := strings.Index(s, heading)
	if i < 0 {
		return ""
	}
	rest := s[i+len(heading):]
	cut := len(rest)
	for _, e := range ends {
		if j := strings.Index(rest, e); j >= 0 && j < cut {
			cut = j
		}
	}
	return heading + rest[:cut]
}
