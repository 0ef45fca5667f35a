package bot_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sitrep-io/sitrep/bot"
)

// storm fires n repeats of one alert on an open incident, one a second
// from at, each from a new instance after the first ten.
func (e *env) storm(n int, at time.Time) {
	e.t.Helper()
	for i := range n {
		instance := fmt.Sprintf("api-%d", max(0, i-9))
		e.alert(bot.Alert{DedupKey: "api-500", Title: "Platform API returning 500", Firing: true,
			OccurredAt: at.Add(time.Duration(i) * time.Second), Labels: map[string]string{"service": "api", "instance": instance}})
	}
}

func TestTimelineCommandCollapsesAlertStorm(t *testing.T) {
	e := newEnv(t, bot.ServiceConfig{})
	first := start.Add(-time.Hour)
	e.storm(1500, first) // the first one opens the incident
	e.drain()
	inc := e.incidents()[0]
	inc = e.incident(inc.ID)
	if _, err := e.svc.AddNote(e.ctx(), "U1", inc.ID, "the gateway returns 500 for the API certificate"); err != nil {
		t.Fatal(err)
	}
	// The second storm happens after the note; the clock moves past it, as
	// alert times ahead of sitrep's clock are clamped to now.
	e.clock.Advance(time.Minute + 500*time.Second)
	e.storm(500, start.Add(time.Minute))

	reply, err := e.exec(inc.ChannelID, "timeline")
	if err != nil {
		t.Fatal(err)
	}
	if len(reply.Text) > bot.TimelineReplyBudget {
		t.Errorf("reply is %d bytes, over %d", len(reply.Text), bot.TimelineReplyBudget)
	}
	lines := strings.Split(reply.Text, "\n")
	// the storm's 1,500 alerts happened before the declaration (which is
	// stamped when sitrep opened the incident), then the note, then 500 more
	var runs []string
	for _, l := range lines {
		if strings.Contains(l, "alert_fired") && strings.Contains(l, "×") {
			runs = append(runs, l)
		}
	}
	if len(runs) != 2 {
		t.Fatalf("collapsed rows = %d, want 2:\n%s", len(runs), reply.Text)
	}
	last1 := first.Add(1499 * time.Second).Format(time.DateTime)
	if !strings.HasPrefix(runs[0], first.Format(time.DateTime)) || !strings.Contains(runs[0], "(×1500, last "+last1) ||
		!strings.Contains(runs[0], "new instance: api-1, api-2, api-3 and 1487 more") {
		t.Errorf("first run = %q, want ×1500 from %s to %s with new instances", runs[0], first.Format(time.DateTime), last1)
	}
	if !strings.Contains(runs[1], "(×500, last "+start.Add(time.Minute+499*time.Second).Format(time.DateTime)) {
		t.Errorf("second run = %q, want ×500", runs[1])
	}
	if !strings.Contains(reply.Text, "the gateway returns 500 for the API certificate") {
		t.Errorf("the note is missing:\n%s", reply.Text)
	}
	if got := len(e.timeline(inc.ID)); got < 2002 {
		t.Errorf("timeline has %d events, want every alert kept", got)
	}
}

func TestTimelineCommandStaysWithinBudget(t *testing.T) {
	e := newEnv(t, bot.ServiceConfig{})
	inc := e.opened("Checkout down")
	for i := range 400 {
		e.clock.Advance(time.Minute)
		if _, err := e.svc.AddNote(e.ctx(), "U1", inc.ID, fmt.Sprintf("note %d: %s", i, strings.Repeat("x", 60))); err != nil {
			t.Fatal(err)
		}
	}
	reply, err := e.exec(inc.ChannelID, "timeline")
	if err != nil {
		t.Fatal(err)
	}
	if len(reply.Text) > bot.TimelineReplyBudget {
		t.Errorf("reply is %d bytes, over %d", len(reply.Text), bot.TimelineReplyBudget)
	}
	lines := strings.Split(reply.Text, "\n")
	if !strings.Contains(lines[1], "earlier entries") || !strings.Contains(lines[1], "`sitrep timeline INC-1`") {
		t.Errorf("second line = %q, want how many are left out and how to see them", lines[1])
	}
	if last := lines[len(lines)-1]; !strings.Contains(last, "note 399:") {
		t.Errorf("last line = %q, want the newest note", last)
	}
	// the count of omitted entries is exact: shown + omitted = all
	var omitted, events int
	fmt.Sscanf(strings.TrimPrefix(lines[1], "… "), "%d earlier entries (%d events)", &omitted, &events)
	if all := len(e.timeline(inc.ID)); omitted+len(lines)-2 != all || events != omitted {
		t.Errorf("omitted %d (%d events) + shown %d, want %d in all", omitted, events, len(lines)-2, all)
	}
}
