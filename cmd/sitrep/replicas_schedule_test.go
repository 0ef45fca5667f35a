package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sitrep-io/sitrep/bot"
	"github.com/sitrep-io/sitrep/internal/app"
	"github.com/sitrep-io/sitrep/internal/pgtest"
	"github.com/sitrep-io/sitrep/internal/slackfake"
	"github.com/sitrep-io/sitrep/internal/testclock"
	"github.com/sitrep-io/sitrep/slackchat"
	"github.com/sitrep-io/sitrep/store/postgres"
)

// scheduleReplica is one replica's service and dispatcher on a shared
// PostgreSQL database, with Slack (the fake) as its chat.
type scheduleReplica struct {
	db   *postgres.DB
	svc  *bot.Service
	disp *bot.Dispatcher
}

func newScheduleReplica(t *testing.T, dbURL string, fake *slackfake.Server, clock *testclock.Clock) scheduleReplica {
	t.Helper()
	db, err := postgres.Open(t.Context(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	chat := slackchat.New(slackchat.Options{Token: slackfake.BotToken, APIURL: fake.URL()})
	sitrep, err := app.New(app.Config{Store: db, Chat: chat, Directory: chat,
		Service: bot.ServiceConfig{Now: clock.Now, Directory: chat},
		Dispatcher: bot.DispatcherOptions{Now: clock.Now, Shared: true,
			BaseBackoff: time.Millisecond, MaxBackoff: time.Millisecond},
		Alerting: &bot.AlertingConfig{SummaryEvery: time.Minute},
		Reminders: bot.ReminderConfig{Intervals: map[bot.Severity]time.Duration{bot.SEV1: 30 * time.Minute},
			ArchiveAfter: time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	return scheduleReplica{db: db, svc: sitrep.Service, disp: sitrep.Dispatcher}
}

// drainTogether delivers what is due on every replica at once, a few
// rounds, so that each due entry is raced for by all of them.
func drainTogether(t *testing.T, rs []scheduleReplica) {
	t.Helper()
	for range 3 {
		var wg sync.WaitGroup
		for _, r := range rs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := r.disp.Drain(context.Background()); err != nil {
					t.Errorf("drain: %v", err)
				}
			}()
		}
		wg.Wait()
	}
}

// TestScheduledWorkFiresOnceAcrossReplicas: two replicas (services and
// dispatchers, each its own PostgreSQL pool) race for every due entry; a
// due reminder is posted once, and a resolved incident's channel is
// archived once.
func TestScheduledWorkFiresOnceAcrossReplicas(t *testing.T) {
	dbURL := pgtest.NewDatabase(t)
	fake := slackfake.New(t)
	// The store stamps a new entry's first attempt with the wall clock: the
	// fake clock starts ahead of it.
	clock := testclock.New(time.Now().Add(time.Hour).Truncate(time.Second))
	rs := []scheduleReplica{newScheduleReplica(t, dbURL, fake, clock), newScheduleReplica(t, dbURL, fake, clock)}

	inc, err := rs[0].svc.Declare(t.Context(), bot.DeclareRequest{Actor: "U1", Title: "Checkout down", Severity: bot.SEV1})
	if err != nil {
		t.Fatal(err)
	}
	drainTogether(t, rs)
	inc, err = rs[1].db.Incident(t.Context(), inc.ID)
	if err != nil || inc.ChannelID == "" {
		t.Fatalf("incident %+v, %v: no channel", inc, err)
	}
	reminders := func() int {
		n := 0
		for _, m := range fake.Messages(inc.ChannelID) {
			if strings.Contains(m.Text, "30 min") {
				n++
			}
		}
		return n
	}
	for _, step := range []struct {
		advance time.Duration
		want    int
	}{{29 * time.Minute, 0}, {time.Minute, 1}, {time.Minute, 1}} {
		clock.Advance(step.advance)
		drainTogether(t, rs)
		if got := reminders(); got != step.want {
			t.Fatalf("%d reminders posted, want %d", got, step.want)
		}
	}
	evs, err := rs[0].db.Timeline(t.Context(), inc.ID)
	if err != nil {
		t.Fatal(err)
	}
	sent := 0
	for _, ev := range evs {
		if ev.Kind == bot.KindReminderSent {
			sent++
		}
	}
	if sent != 1 {
		t.Errorf("%d reminder events on the timeline, want 1", sent)
	}

	if _, err := rs[1].svc.Resolve(t.Context(), "U1", inc.ID, "fixed"); err != nil {
		t.Fatal(err)
	}
	drainTogether(t, rs)
	clock.Advance(time.Hour + time.Minute)
	drainTogether(t, rs)
	if n := len(fake.CallsTo("conversations.archive")); n != 1 {
		t.Errorf("conversations.archive called %d times, want once", n)
	}
	if ch, _ := fake.ChannelByID(inc.ChannelID); !ch.IsArchived {
		t.Errorf("the channel is not archived: %+v", ch)
	}
}

// TestAlertSummaryAcrossReplicas: repeats of one alert reach two replicas
// in turn, around summaries delivered by either: whether a summary is
// queued is the database's answer, so every repeat ends up in a summary
// (a replica's memory of "already queued" would leave the last ones out
// once the other replica has delivered that summary).
func TestAlertSummaryAcrossReplicas(t *testing.T) {
	dbURL := pgtest.NewDatabase(t)
	fake := slackfake.New(t)
	clock := testclock.New(time.Now().Add(time.Hour).Truncate(time.Second))
	rs := []scheduleReplica{newScheduleReplica(t, dbURL, fake, clock), newScheduleReplica(t, dbURL, fake, clock)}
	fired := 0
	fire := func(r scheduleReplica) {
		t.Helper()
		fired++
		if _, err := r.svc.IngestAlert(t.Context(), bot.Alert{Source: "alertmanager", DedupKey: "api", Title: "5xx",
			Severity: bot.SEV1, Firing: true, EventID: fmt.Sprintf("a%d", fired)}); err != nil {
			t.Fatal(err)
		}
	}
	lastSummary := func() string {
		incs, err := rs[0].db.Incidents(t.Context(), bot.IncidentFilter{All: true})
		if err != nil || len(incs) != 1 {
			t.Fatalf("incidents %+v, %v; want one", incs, err)
		}
		text := ""
		for _, m := range fake.Messages(incs[0].ChannelID) {
			if strings.HasPrefix(m.Text, "Alerts on INC-") {
				text = m.Text
			}
		}
		return text
	}
	fire(rs[0])
	drainTogether(t, rs) // the channel
	for round, order := range [][]int{{0, 1}, {1, 0}, {1, 1}, {0, 0}} {
		for _, i := range order {
			fire(rs[i])
		}
		clock.Advance(time.Minute)
		drainTogether(t, rs)
		if got, want := lastSummary(), fmt.Sprintf(": %d fired", fired); !strings.Contains(got, want) {
			t.Fatalf("round %d: last alert summary %q, want %q in it", round, got, want)
		}
	}
}
