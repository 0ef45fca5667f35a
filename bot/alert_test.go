package bot_test

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sitrep-io/sitrep/bot"
	"github.com/sitrep-io/sitrep/store"
)

func TestIngestAlertOpens(t *testing.T) {
	e := newEnv(t, bot.ServiceConfig{DefaultSeverity: bot.SEV2})
	fired := start.Add(-5 * time.Minute)
	out := e.alert(bot.Alert{
		Source: "alertmanager", DedupKey: "HighErrorRate/checkout", Title: "  High error rate  ", Description: "5xx > 5%",
		Firing: true, OccurredAt: fired, Labels: map[string]string{"service": "checkout"}, URL: "https://am.example/1",
	})
	if !out.Opened || !out.Recorded || out.Ignored != "" {
		t.Errorf("outcome = %+v, want opened and recorded", out)
	}
	got := e.incident(out.Incident.ID)
	if got.Title != "High error rate" || got.Severity != bot.SEV2 || got.Status != bot.StatusTriggered ||
		got.Source != "alertmanager" || got.DedupKey != "HighErrorRate/checkout" || got.SourceURL != "https://am.example/1" ||
		!reflect.DeepEqual(got.Labels, map[string]string{"service": "checkout"}) {
		t.Errorf("incident = %+v", got)
	}
	if !got.DetectedAt.Equal(fired) || !got.DeclaredAt.Equal(start) || !got.AcknowledgedAt.IsZero() {
		t.Errorf("times: detected %v declared %v acknowledged %v; want %v, %v, unset", got.DetectedAt, got.DeclaredAt, got.AcknowledgedAt, fired, start)
	}
	evs := e.timeline(got.ID)
	if got, want := kinds(evs), []bot.EventKind{bot.KindAlertFired, bot.KindDeclared}; !reflect.DeepEqual(got, want) {
		t.Fatalf("events = %v, want %v", got, want)
	}
	if !evs[0].OccurredAt.Equal(fired) || evs[0].Actor != bot.AlertActor("alertmanager") || evs[0].SourceURL != "https://am.example/1" {
		t.Errorf("alert event = %+v, want occurred at %v by alert:alertmanager", evs[0], fired)
	}
}

func TestIngestAlertDedup(t *testing.T) {
	t.Run("SameKeyWhileOpen", func(t *testing.T) {
		e := newEnv(t, bot.ServiceConfig{})
		first := e.alert(bot.Alert{DedupKey: "k", Firing: true})
		for i := range 3 {
			e.clock.Advance(time.Minute)
			out := e.alert(bot.Alert{DedupKey: "k", Firing: true, Title: fmt.Sprintf("again %d", i)})
			if out.Opened || !out.Recorded || out.Incident.ID != first.Incident.ID {
				t.Errorf("repeat %d: outcome %+v, want recorded on %s", i, out, first.Incident.Key())
			}
		}
		if got := len(e.incidents()); got != 1 {
			t.Errorf("%d incidents, want 1", got)
		}
		if got := count(e.timeline(first.Incident.ID), bot.KindAlertFired); got != 4 {
			t.Errorf("%d alert_fired events, want 4", got)
		}
	})
	t.Run("OtherSourceOrKey", func(t *testing.T) {
		e := newEnv(t, bot.ServiceConfig{})
		a := e.alert(bot.Alert{Source: "webhook", DedupKey: "k", Firing: true})
		b := e.alert(bot.Alert{Source: "pagerduty", DedupKey: "k", Firing: true})
		c := e.alert(bot.Alert{Source: "webhook", DedupKey: "k2", Firing: true})
		if !b.Opened || !c.Opened || a.Incident.ID == b.Incident.ID || b.Incident.ID == c.Incident.ID {
			t.Errorf("outcomes %+v %+v, want two new incidents", b, c)
		}
	})
	t.Run("NoKeyNeverDeduplicated", func(t *testing.T) {
		e := newEnv(t, bot.ServiceConfig{})
		a := e.alert(bot.Alert{Firing: true})
		b := e.alert(bot.Alert{Firing: true})
		if !a.Opened || !b.Opened || a.Incident.ID == b.Incident.ID {
			t.Errorf("outcomes %+v %+v, want two new incidents", a, b)
		}
	})
	t.Run("NewIncidentAfterResolve", func(t *testing.T) {
		e := newEnv(t, bot.ServiceConfig{})
		first := e.alert(bot.Alert{DedupKey: "k", Firing: true}).Incident
		if _, err := e.svc.Resolve(e.ctx(), "U1", first.ID, ""); err != nil {
			t.Fatal(err)
		}
		again := e.alert(bot.Alert{DedupKey: "k", Firing: true})
		if !again.Opened || again.Incident.ID == first.ID {
			t.Errorf("outcome %+v, want a new incident after %s was resolved", again, first.Key())
		}
		if got := count(e.timeline(first.ID), bot.KindAlertFired); got != 1 {
			t.Errorf("resolved %s got %d alert_fired events, want 1", first.Key(), got)
		}
	})
	t.Run("RedeliveryRecordedOnce", func(t *testing.T) {
		e := newEnv(t, bot.ServiceConfig{})
		a := bot.Alert{DedupKey: "k", Firing: true, EventID: "evt-1"}
		first := e.alert(a)
		before := e.snapshot()
		again := e.alert(a)
		if again.Opened || again.Recorded || again.Incident.ID != first.Incident.ID {
			t.Errorf("redelivery outcome %+v, want not recorded on %s", again, first.Incident.Key())
		}
		e.requireUnchanged(before)
		next := e.alert(bot.Alert{DedupKey: "k", Firing: true, EventID: "evt-2"})
		if !next.Recorded {
			t.Errorf("a new event id was not recorded: %+v", next)
		}
		if got := count(e.timeline(first.Incident.ID), bot.KindAlertFired); got != 2 {
			t.Errorf("%d alert_fired events, want 2", got)
		}
	})
	t.Run("ResolvedAlertRecorded", func(t *testing.T) {
		e := newEnv(t, bot.ServiceConfig{})
		inc := e.alert(bot.Alert{DedupKey: "k", Firing: true}).Incident
		out := e.alert(bot.Alert{DedupKey: "k", Firing: false})
		if !out.Recorded || out.Opened || out.Incident.ID != inc.ID {
			t.Errorf("outcome %+v, want recorded on %s", out, inc.Key())
		}
		if got := count(e.timeline(inc.ID), bot.KindAlertResolved); got != 1 {
			t.Errorf("%d alert_resolved events, want 1", got)
		}
		// The alert clearing does not resolve the incident: people do.
		if got := e.incident(inc.ID).Status; got != bot.StatusTriggered {
			t.Errorf("status %s, want triggered", got)
		}
	})
	t.Run("ResolvedAlertWithoutIncidentIgnored", func(t *testing.T) {
		e := newEnv(t, bot.ServiceConfig{BroadcastChannel: broadcast})
		before := e.snapshot()
		out := e.alert(bot.Alert{DedupKey: "k", Firing: false})
		if out.Ignored == "" || out.Opened || out.Recorded || out.Incident.ID != 0 {
			t.Errorf("outcome %+v, want ignored", out)
		}
		e.requireUnchanged(before)
		if n := len(e.incidents()); n != 0 {
			t.Errorf("%d incidents, want none", n)
		}
	})
}

func TestIngestAlertInvalid(t *testing.T) {
	for _, tt := range []struct {
		name  string
		alert bot.Alert
		field string
	}{
		{"ErrTitleRequired", bot.Alert{Source: "webhook", Title: "  ", Firing: true}, "title"},
		{"ErrSourceRequired", bot.Alert{Title: "x", Firing: true}, "source"},
		{"ErrSeverity", bot.Alert{Source: "webhook", Title: "x", Severity: 7, Firing: true}, "severity"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, bot.ServiceConfig{})
			before := e.snapshot()
			_, err := e.svc.IngestAlert(e.ctx(), tt.alert)
			wantCode(t, err, bot.EINVALID)
			var be *bot.Error
			if !errors.As(err, &be) || be.Field != tt.field {
				t.Errorf("error field = %+v, want %q", be, tt.field)
			}
			e.requireUnchanged(before)
		})
	}
}

// ingestConcurrently sends n firing alerts spread over keys from one
// goroutine each, through the services in turn, and fails on any error.
func ingestConcurrently(t *testing.T, svcs []*bot.Service, n, keys int) (opened int) {
	t.Helper()
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for i := range n {
		svc := svcs[i%len(svcs)]
		wg.Go(func() {
			out, err := svc.IngestAlert(t.Context(), bot.Alert{Source: "webhook", DedupKey: fmt.Sprintf("key-%d", i%keys),
				Title: "flapping", Firing: true})
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
			}
			if out.Opened {
				opened++
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if strings.Contains(err.Error(), "SQLITE_BUSY") || strings.Contains(err.Error(), "locked") {
			t.Errorf("IngestAlert returned a busy error: %v", err)
		} else {
			t.Errorf("IngestAlert: %v", err)
		}
	}
	return opened
}

func checkDedupCounts(t *testing.T, e *env, n, keys, opened int) {
	t.Helper()
	incs := e.incidents()
	if got := len(incs); got != keys {
		t.Errorf("%d incidents, want %d", got, keys)
	}
	if opened != keys {
		t.Errorf("%d outcomes said Opened, want %d", opened, keys)
	}
	fired := 0
	seen := map[string]bool{}
	for _, inc := range incs {
		if seen[inc.DedupKey] {
			t.Errorf("two incidents for %s", inc.DedupKey)
		}
		seen[inc.DedupKey] = true
		c := count(e.timeline(inc.ID), bot.KindAlertFired)
		if c != n/keys {
			t.Errorf("%s (%s) has %d alert_fired events, want %d", inc.Key(), inc.DedupKey, c, n/keys)
		}
		fired += c
	}
	if fired != n {
		t.Errorf("%d alert_fired events in all, want %d", fired, n)
	}
}

// TestIngestAlertConcurrent sends 200 alerts for 5 keys at once.
func TestIngestAlertConcurrent(t *testing.T) {
	const n, keys = 200, 5
	t.Run("OneHandle", func(t *testing.T) {
		e := newEnv(t, bot.ServiceConfig{})
		opened := ingestConcurrently(t, []*bot.Service{e.svc}, n, keys)
		checkDedupCounts(t, e, n, keys, opened)
	})
	t.Run("TwoHandles", func(t *testing.T) {
		// A second store.Open of the same file, as a second process would,
		// writing at the same time.
		e := newEnv(t, bot.ServiceConfig{})
		db2, err := store.Open(t.Context(), e.path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = db2.Close() })
		svc2 := bot.NewService(db2, e.cfg)
		opened := ingestConcurrently(t, []*bot.Service{e.svc, svc2}, n, keys)
		checkDedupCounts(t, e, n, keys, opened)
	})
}

// An alert whose source clock runs ahead does not open an incident detected
// in the future: its time is clamped to now and the timeline says so.
func TestIngestAlertClampsAFutureSourceTime(t *testing.T) {
	e := newEnv(t, bot.ServiceConfig{})
	out := e.alert(bot.Alert{Source: "alertmanager", DedupKey: "k", Title: "t", Firing: true, OccurredAt: start.Add(3 * time.Hour)})
	got := e.incident(out.Incident.ID)
	if !got.DetectedAt.Equal(start) {
		t.Errorf("detected at %v, want clamped to now %v", got.DetectedAt, start)
	}
	evs := e.timeline(got.ID)
	if !evs[0].OccurredAt.Equal(start) || !strings.Contains(evs[0].Text, "in the future") {
		t.Errorf("alert event = %q at %v, want clamped to now and said so", evs[0].Text, evs[0].OccurredAt)
	}
}
