package postgres_test

import (
	"fmt"
	"io"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sitrep-io/sitrep/bot"
	"github.com/sitrep-io/sitrep/console"
	"github.com/sitrep-io/sitrep/internal/pgtest"
	"github.com/sitrep-io/sitrep/store/postgres"
)

// The alert-storm intake on PostgreSQL: a repeated alert on an open
// incident, through the service as the webhooks call it, against the floor
// of one bare insert per transaction through the same store, in one run:
//
//	go test -run '^$' -bench Intake -benchtime 3000x ./store/postgres/
//
// The parallel variants have 16 goroutines per core, as concurrent webhooks
// do; they all change the one incident, so they take turns on its row.

var benchT0 = time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)

func benchDB(b *testing.B) *postgres.DB {
	b.Helper()
	db, err := postgres.Open(b.Context(), pgtest.NewDatabase(b))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = db.Close() })
	return db
}

func benchGroup(i int64) bot.AlertGroup {
	return bot.AlertGroup{Source: "alertmanager", DedupKey: "group", Title: "5xx on the gateway",
		Alerts: []bot.Alert{{Title: "5xx on the gateway", Severity: bot.SEV1, Firing: true,
			OccurredAt: benchT0.Add(time.Duration(i) * time.Millisecond), EventID: fmt.Sprintf("fp%d", i),
			Labels: map[string]string{"alertname": "Gateway5xx", "severity": "critical", "instance": fmt.Sprint(i)}}}}
}

func BenchmarkIntake(b *testing.B) {
	ingest := func(b *testing.B, parallel bool) {
		db := benchDB(b)
		svc := bot.NewService(db, bot.ServiceConfig{BroadcastChannel: "C-broadcast"})
		wireAlerting(b, svc, db)
		if _, err := svc.IngestAlertGroup(b.Context(), benchGroup(0)); err != nil {
			b.Fatal(err)
		}
		var n atomic.Int64
		b.ResetTimer()
		loop(b, parallel, func() {
			out, err := svc.IngestAlertGroup(b.Context(), benchGroup(n.Add(1)))
			if err != nil || out.Recorded != 1 {
				b.Errorf("recorded %d: %v", out.Recorded, err) // not Fatal: RunParallel goroutines
			}
		})
		b.StopTimer()
		incs, err := db.Incidents(b.Context(), bot.IncidentFilter{All: true})
		if err != nil || len(incs) != 1 {
			b.Fatalf("%d incidents, want 1: %v", len(incs), err)
		}
		if c, err := db.AlertCounts(b.Context(), incs[0].ID); err != nil || c.Fired != int(n.Load())+1 {
			b.Fatalf("%d alerts fired, want %d: %v", c.Fired, n.Load()+1, err)
		}
	}
	bare := func(b *testing.B, parallel bool) {
		db := benchDB(b)
		var n atomic.Int64
		b.ResetTimer()
		loop(b, parallel, func() {
			err := db.Update(b.Context(), func(tx bot.Tx) error {
				_, err := tx.MarkChatEvent("bench", fmt.Sprint(n.Add(1)), benchT0, time.Time{})
				return err
			})
			if err != nil {
				b.Error(err)
			}
		})
	}
	for _, mode := range []struct {
		name     string
		parallel bool
	}{{"serial", false}, {"parallel", true}} {
		b.Run("bare/"+mode.name, func(b *testing.B) { bare(b, mode.parallel) })
		b.Run("ingest/"+mode.name, func(b *testing.B) { ingest(b, mode.parallel) })
	}
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

// wireAlerting turns alerting on in svc, as the benchmark measures the
// intake: its deliveries (through a console that writes nowhere) are never
// run.
func wireAlerting(b testing.TB, svc *bot.Service, db bot.DeliveryStore) {
	b.Helper()
	disp := bot.NewDispatcher(db, bot.DispatcherOptions{})
	chat := console.NewChat(io.Discard, nil)
	if err := bot.Wire(svc, disp, bot.ChatOps(chat), bot.Alerting(bot.AlertingConfig{}, chat)); err != nil {
		b.Fatal(err)
	}
}
