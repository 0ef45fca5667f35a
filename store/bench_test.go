package store_test

import (
	"fmt"
	"io"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sitrep-io/sitrep/bot"
	"github.com/sitrep-io/sitrep/console"
	"github.com/sitrep-io/sitrep/store"
)

// The alert-storm hot path on a real database file: a repeated alert on an
// open incident, through the service as the webhooks call it. Compare with
// BenchmarkBareInsert (one insert per transaction) as cmd/loadgen does:
//
//	go test -run '^$' -bench . -benchtime 5000x ./store/
//
// The parallel variants have 16 goroutines per core contend for the
// single writer connection, as concurrent webhooks do.

func benchDB(b *testing.B) *store.DB {
	b.Helper()
	db, err := store.Open(b.Context(), filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = db.Close() })
	return db
}

// wireAlerting turns alerting on in svc, as the benchmarks measure the
// intake: its deliveries (through a console that writes nowhere) are never
// run.
func wireAlerting(b *testing.B, svc *bot.Service, db bot.DeliveryStore) {
	b.Helper()
	disp := bot.NewDispatcher(db, bot.DispatcherOptions{})
	chat := console.NewChat(io.Discard, nil)
	if err := bot.Wire(svc, disp, bot.ChatOps(chat), bot.Alerting(bot.AlertingConfig{}, chat)); err != nil {
		b.Fatal(err)
	}
}

// benchService is an alerting service whose incident for "group" is open.
func benchService(b *testing.B) (*bot.Service, *store.DB) {
	b.Helper()
	db := benchDB(b)
	svc := bot.NewService(db, bot.ServiceConfig{BroadcastChannel: "C-broadcast"})
	wireAlerting(b, svc, db)
	if _, err := svc.IngestAlertGroup(b.Context(), benchGroup(0)); err != nil {
		b.Fatal(err)
	}
	return svc, db
}

// benchGroup is an Alertmanager-like notification carrying one alert not
// sent before.
func benchGroup(i int64) bot.AlertGroup {
	return bot.AlertGroup{Source: "alertmanager", DedupKey: "group", Title: "5xx on the gateway",
		Alerts: []bot.Alert{{Title: "5xx on the gateway", Severity: bot.SEV1, Firing: true,
			OccurredAt: t0.Add(time.Duration(i) * time.Millisecond), EventID: fmt.Sprintf("fp%d", i),
			Labels: map[string]string{"alertname": "Gateway5xx", "severity": "critical", "instance": fmt.Sprint(i)}}}}
}

// benchSourceEvent is a PagerDuty-like trigger with a new delivery id.
func benchSourceEvent(i int64) bot.SourceEvent {
	return bot.SourceEvent{Source: "pagerduty", DeliveryID: fmt.Sprintf("dl%d", i), DedupKey: "PINC", EventID: fmt.Sprintf("ev%d", i),
		Type: "incident.triggered", OccurredAt: t0.Add(time.Duration(i) * time.Millisecond),
		Trigger: &bot.Alert{Source: "pagerduty", DedupKey: "PINC", Title: "Gateway down", Firing: true, EventID: fmt.Sprintf("ev%d", i),
			Labels: map[string]string{"pagerduty.incident": "PINC"}}}
}

func BenchmarkIngestAlertGroup(b *testing.B) {
	run := func(b *testing.B, parallel bool) {
		svc, db := benchService(b)
		var n atomic.Int64
		one := func() {
			out, err := svc.IngestAlertGroup(b.Context(), benchGroup(n.Add(1)))
			if err != nil || out.Recorded != 1 {
				b.Errorf("recorded %d: %v", out.Recorded, err) // not Fatal: RunParallel goroutines
			}
		}
		b.ResetTimer()
		loop(b, parallel, one)
		b.StopTimer()
		checkOneIncident(b, db, int(n.Load())+1)
	}
	b.Run("serial", func(b *testing.B) { run(b, false) })
	b.Run("parallel", func(b *testing.B) { run(b, true) })
}

func BenchmarkRecordSourceEvent(b *testing.B) {
	run := func(b *testing.B, parallel bool) {
		db := benchDB(b)
		svc := bot.NewService(db, bot.ServiceConfig{BroadcastChannel: "C-broadcast"})
		wireAlerting(b, svc, db)
		var n atomic.Int64
		one := func() {
			out, err := svc.RecordSourceEvent(b.Context(), benchSourceEvent(n.Add(1)))
			if err != nil || !out.Recorded {
				b.Errorf("not recorded: %+v %v", out, err)
			}
		}
		one()
		b.ResetTimer()
		loop(b, parallel, one)
		b.StopTimer()
		checkOneIncident(b, db, int(n.Load()))
	}
	b.Run("serial", func(b *testing.B) { run(b, false) })
	b.Run("parallel", func(b *testing.B) { run(b, true) })
}

// BenchmarkBareInsert is the floor: one small insert per transaction through
// the same store (a webhook delivery mark).
func BenchmarkBareInsert(b *testing.B) {
	run := func(b *testing.B, parallel bool) {
		db := benchDB(b)
		var n atomic.Int64
		one := func() {
			err := db.Update(b.Context(), func(tx bot.Tx) error {
				_, err := tx.MarkChatEvent("bench", fmt.Sprint(n.Add(1)), t0, time.Time{})
				return err
			})
			if err != nil {
				b.Error(err)
			}
		}
		loop(b, parallel, one)
	}
	b.Run("serial", func(b *testing.B) { run(b, false) })
	b.Run("parallel", func(b *testing.B) { run(b, true) })
}

// loop runs one b.N times, serially or from 16 goroutines per core.
func loop(b *testing.B, parallel bool, one func()) {
	if !parallel {
		for b.Loop() {
			one()
		}
		return
	}
	b.SetParallelism(16)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			one()
		}
	})
}

// checkOneIncident fails the benchmark unless the storm made one incident
// with every alert on it once.
func checkOneIncident(b *testing.B, db *store.DB, fired int) {
	b.Helper()
	incs, err := db.Incidents(b.Context(), bot.IncidentFilter{All: true})
	if err != nil || len(incs) != 1 {
		b.Fatalf("%d incidents, want 1: %v", len(incs), err)
	}
	c, err := db.AlertCounts(b.Context(), incs[0].ID)
	if err != nil || c.Fired != fired {
		b.Fatalf("%d alerts fired, want %d: %v", c.Fired, fired, err)
	}
}
