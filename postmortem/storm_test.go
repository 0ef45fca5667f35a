package postmortem_test

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sitrep-io/sitrep/bot"
	"github.com/sitrep-io/sitrep/postmortem"
)

// stormEvents is how many events stormInput's incident has in all.
const stormEvents = 10000

// stormInput is the seed night with an alert storm on it: the gateway's
// alert fires again every 1.6 s from 00:06:03 until the incident has
// stormEvents events, from 40 instances in turn, between the people's
// events.
func stormInput(l *time.Location) (postmortem.Input, []time.Time) {
	in := seedInput(l)
	first := utc("2020-10-08T00:06:03Z")
	var fired []time.Time
	for i := range stormEvents - len(in.Events) {
		at := first.Add(time.Duration(i) * 1600 * time.Millisecond)
		fired = append(fired, at)
		in.Events = append(in.Events, bot.Event{ID: int64(len(in.Events) + 1), IncidentID: 1, OccurredAt: at, RecordedAt: at,
			Kind: bot.KindAlertFired, Actor: "alert:grafana", Text: "alert fired: Platform API returning 500",
			Data:      map[string]any{"labels": map[string]any{"service": "api-gateway", "instance": fmt.Sprintf("api-%d", i%40)}},
			SourceURL: "https://grafana.example.com/alerting/platform-api-500"})
	}
	return in, fired
}

var tableRow = regexp.MustCompile(`(?m)^\| \d`)

func TestStormDraftCollapsesRepeatedAlerts(t *testing.T) {
	in, fired := stormInput(time.UTC)
	res, err := postmortem.DefaultRenderer().Render(in)
	if err != nil {
		t.Fatal(err)
	}
	md := string(res.Markdown)
	timeline := md[strings.Index(md, "## Timeline"):strings.Index(md, "## Detection and response")]
	rows := tableRow.FindAllString(timeline, -1)
	if len(rows) > 80 {
		t.Errorf("timeline has %d rows for %d events, want the storm collapsed", len(rows), stormEvents)
	}
	if len(md) > 48<<10 {
		t.Errorf("draft is %d bytes, want it to fit on a few screens", len(md))
	}
	// The run between the 00:20 note and the 00:51 status update: every
	// repeat fired in between, counted here from what was generated.
	from, to := utc("2020-10-08T00:20:00Z"), utc("2020-10-08T00:51:00Z")
	var run []time.Time
	for _, at := range fired {
		if at.After(from) && at.Before(to) {
			run = append(run, at)
		}
	}
	want := fmt.Sprintf("| %s | alert (grafana) | Alert fired %s times: “Platform API returning 500”, the last at %s; new instance: ",
		run[0].Format("15:04:05"), fmt.Sprintf("%d,%03d", len(run)/1000, len(run)%1000), run[len(run)-1].Format("15:04:05"))
	if !strings.Contains(timeline, want) {
		t.Errorf("timeline lacks the collapsed row\n%s\n(want a row starting %q)", timeline, want)
	}
	// the people's story is all there
	for _, s := range []string{"API gateway reports degraded health", "Cert for the Platform API is valid", "Lena Ortiz is commander", "Status identified → monitoring"} {
		if !strings.Contains(timeline, s) {
			t.Errorf("timeline lost %q", s)
		}
	}
}

// BenchmarkRender renders the seed night's draft (the baseline) and the
// same night under a 10,000-event storm; compare their ns/op.
func BenchmarkRender(b *testing.B) {
	seed := seedInput(time.UTC)
	storm, _ := stormInput(time.UTC)
	r := postmortem.DefaultRenderer()
	for _, c := range []struct {
		name string
		in   postmortem.Input
	}{{"seed", seed}, {"storm10k", storm}} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := r.Render(c.in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
