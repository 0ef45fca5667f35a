package postmortem_test

import (
	"strings"
	"testing"
	"time"

	"github.com/sitrep-io/sitrep/bot"
	"github.com/sitrep-io/sitrep/postmortem"
)

func render(t *testing.T, in postmortem.Input) postmortem.Result {
	t.Helper()
	res, err := postmortem.DefaultRenderer().Render(in)
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	return res
}

// wantInDraft checks that the draft md has every one of wants.
func wantInDraft(t *testing.T, md string, wants ...string) {
	t.Helper()
	for _, want := range wants {
		if !strings.Contains(md, want) {
			t.Errorf("draft lacks %q", want)
		}
	}
}

func TestGoldenSeed(t *testing.T) {
	for _, tc := range []struct{ file, zone string }{
		{"seed-los-angeles.md", "America/Los_Angeles"},
		{"seed-utc.md", "UTC"},
	} {
		t.Run(tc.zone, func(t *testing.T) {
			res := render(t, seedInput(loc(t, tc.zone)))
			golden(t, tc.file, res.Markdown)
			md := string(res.Markdown)
			wantInDraft(t, md,
				"| impact duration | 4h 31m | `impact_started_at` 2020-10-08T00:06:00Z | `impact_ended_at` 2020-10-08T04:37:00Z |",
				"lower bound: the first alert",
				"defaults to mitigated_at",
				"Lena Ortiz (commander)", "Cam Rivera (comms lead)", "Dev Patel",
				"### RUN-1 pool-scale-up", "- Approved: Lena Ortiz, 2020-10-08 01:50 UTC",
				"ordered a new certificate for api.olla.example (not installed)",
				"> We are continuing to investigate this issue",
				"Longest gap between status updates: 0h 54m, from 2020-10-08 02:07 UTC",
				"longer than the SEV1 reminder interval of 0h 30m",
				"⚠ **missing owner**",
				"[source](https://example.slack.com/archives/C0SEED/p1602124260000200)",
			)
			for _, raw := range []string{"U0LEAD", "U0DEV", "U0COMMS", "<@", "\x02", "\x03"} {
				if strings.Contains(md, raw) {
					t.Errorf("draft shows raw id %q", raw)
				}
			}
			if len(res.Findings) != 0 {
				t.Errorf("blame language in the default draft: %v", res.Findings)
			}
		})
	}
}

func TestSeedPacificTimes(t *testing.T) {
	md := string(render(t, seedInput(loc(t, "America/Los_Angeles"))).Markdown)
	// The first row names both dates: the alert is on Oct 8 in UTC and on
	// Oct 7 in Pacific time.
	wantInDraft(t, md,
		"| 2020-10-08 00:06:00 | 2020-10-07 17:06:00 PDT | alert (grafana) | Alert fired: “Platform API returning 500” |",
		"| 01:50:00 | 18:50:00 PDT | Dev Patel | Runbook requested:", // scale-up and reboots, 18:50 PT
		"| 02:05:00 | 19:05:00 PDT | Dev Patel | Note: “Starting a full reboot",
		"| 03:45:00 | 20:45:00 PDT | Lena Ortiz | Status investigating → identified:",
		"| 04:37:00 | 21:37:00 PDT | Lena Ortiz | Status identified → monitoring:",
		"| `impact_ended_at` | 2020-10-08T04:37:00Z | 2020-10-07 21:37:00 PDT |",
		"- 2020-10-08 00:13 UTC (Oct 7 17:13 PDT), Cam Rivera (SEV1 investigating):",
	)
}

func TestSeedMetrics(t *testing.T) {
	f := postmortem.ComputeFacts(seedInput(time.UTC))
	want := map[string]string{
		"impact duration": "4h 31m", "time to detect": "0h 00m", "time to acknowledge": "0h 03m",
		"time to declare": "0h 00m", "time to mitigate": "4h 31m", "time to resolve": "4h 50m",
		"response duration": "4h 50m", "incident duration": "4h 50m",
	}
	for name, w := range want {
		m := f.Metric(name)
		if !m.Known || postmortem.FormatDuration(m.Duration) != w {
			t.Errorf("%s = %s (known %v), want %s", name, postmortem.FormatDuration(m.Duration), m.Known, w)
		}
	}
	if m := f.Metric("impact duration"); m.Duration != 4*time.Hour+31*time.Minute {
		t.Errorf("impact duration = %s", m.Duration)
	}
	if a := f.Anchor(postmortem.ImpactStarted); !a.Default || !strings.Contains(a.Basis, "lower bound") {
		t.Errorf("impact start should be the labelled lower bound: %+v", a)
	}
	if a := f.Anchor(postmortem.ImpactEnded); !a.Default || !a.At.Equal(utc("2020-10-08T04:37:00Z")) {
		t.Errorf("impact end should default to mitigation: %+v", a)
	}
	if f.AckFromResponderAction {
		t.Error("the seed has an explicit acknowledgement")
	}

	// Set explicitly, the impact end wins over a later mitigation.
	in := seedInput(time.UTC)
	in.Incident.MitigatedAt = utc("2020-10-08T04:42:00Z")
	in.Impact = bot.ImpactAnchors{EndedAt: utc("2020-10-08T04:37:00Z"), EndedBy: "U0LEAD"}
	f = postmortem.ComputeFacts(in)
	if m := f.Metric("impact duration"); postmortem.FormatDuration(m.Duration) != "4h 31m" {
		t.Errorf("explicit impact end: impact duration = %s", postmortem.FormatDuration(m.Duration))
	}
	if a := f.Anchor(postmortem.ImpactEnded); a.Default || !strings.Contains(a.Basis, "Lena Ortiz") {
		t.Errorf("explicit impact end anchor: %+v", a)
	}
}

func TestGoldenShakespeare(t *testing.T) {
	in := shakespeareInput()
	res := render(t, in)
	golden(t, "shakespeare.md", res.Markdown)
	f := res.View.Facts
	want := []struct {
		name string
		d    time.Duration
		text string
	}{
		{"impact duration", 66 * time.Minute, "1h 06m"},
		{"time to detect", time.Minute, "0h 01m"},
		{"time to acknowledge", 3 * time.Minute, "0h 03m"},
		{"time to declare", 6 * time.Minute, "0h 06m"},
		{"time to mitigate", 42 * time.Minute, "0h 42m"},
		{"time to resolve", 96 * time.Minute, "1h 36m"},
		{"response duration", 95 * time.Minute, "1h 35m"},
		{"incident duration", 89 * time.Minute, "1h 29m"},
	}
	md := string(res.Markdown)
	for _, w := range want {
		m := f.Metric(w.name)
		if !m.Known || m.Duration != w.d || postmortem.FormatDuration(m.Duration) != w.text {
			t.Errorf("%s = %s (%s), want %s", w.name, m.Duration, postmortem.FormatDuration(m.Duration), w.text)
		}
		if !strings.Contains(md, "| "+w.name+" | "+w.text) {
			t.Errorf("draft lacks the %s row with %s", w.name, w.text)
		}
	}
	if !f.AckFromResponderAction {
		t.Error("the first responder action should stand in for the acknowledgement")
	}
	if m := f.Metric("time to acknowledge"); m.Flag == "" || !m.To.At.Equal(utc("2015-10-21T14:58:00Z")) {
		t.Errorf("acknowledgement should be the 14:58 responder action, flagged: %+v", m)
	}
	if !strings.Contains(md, "0h 03m ⚠ a responder action stands in for the acknowledgement") {
		t.Error("the draft does not flag the responder action used as the acknowledgement")
	}
	if !strings.Contains(md, "[#7](https://github.com/acme/postmortems/issues/7)") {
		t.Error("an exported action item should link its issue")
	}
	if len(res.Findings) != 0 {
		t.Errorf("blame language in the default draft: %v", res.Findings)
	}
}

func TestGoldenMidnightAndDST(t *testing.T) {
	res := render(t, dstInput(loc(t, "America/Los_Angeles")))
	golden(t, "midnight-dst.md", res.Markdown)
	md := string(res.Markdown)
	wantInDraft(t, md,
		// First row: both dates.
		"| 2020-10-31 23:50:00 | 2020-10-31 16:50:00 PDT |",
		// UTC crosses midnight first: its date is shown, Pacific's is not.
		"| 2020-11-01 00:10:00 | 17:10:00 PDT |",
		"| 06:55:00 | 23:55:00 PDT |",
		// Then Pacific crosses midnight: its date is shown, UTC's is not.
		"| 08:30:00 | 2020-11-01 01:30:00 PDT |",
		// 01:30 happens twice that night, an hour apart, told apart by zone.
		"| 09:30:00 | 01:30:00 PST |",
		"| 09:10:00 | 01:10:00 PST |",
		"| 11:00:00 | 03:00:00 PST |",
		"| impact duration | 10h 40m |",
	)
	// The gap between 01:30 PDT and 01:30 PST is an hour, not zero.
	if got := res.View.Comms.LongestGap; got != time.Hour {
		t.Errorf("longest gap = %s, want 1h", got)
	}
}
