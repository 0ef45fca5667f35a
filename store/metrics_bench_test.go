package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/sitrep-io/sitrep/bot"
)

// BenchmarkScrapeGauges is what a /metrics scrape asks of the store
// (OutboxBacklog and OpenIncidentCounts) with 200 unfinished outbox
// entries and 50 open incidents, on a fresh database (history=0, the
// baseline) and on one with a long history behind them (20,000 delivered
// entries, 2,000 resolved incidents). The ratio shows whether a scrape's
// cost grows with the history:
//
//	go test -run '^$' -bench ScrapeGauges -count 3 ./store/
func BenchmarkScrapeGauges(b *testing.B) {
	for _, history := range []int{0, 20000} {
		b.Run(fmt.Sprintf("history=%d", history), func(b *testing.B) {
			db := benchDB(b)
			now := time.Now()
			if history > 0 {
				fill(b, db.Update, history, func(tx bot.Tx, i int) error {
					return tx.Enqueue(bot.Delivery{Key: fmt.Sprintf("old:%d", i), Op: bot.OpPost})
				})
				for {
					batch, err := db.ClaimDeliveries(b.Context(), now, 1000)
					if err != nil {
						b.Fatal(err)
					}
					if len(batch) == 0 {
						break
					}
					for _, d := range batch {
						if err := db.CompleteDelivery(b.Context(), d.ID, nil, now); err != nil {
							b.Fatal(err)
						}
					}
				}
				fill(b, db.Update, history/10, func(tx bot.Tx, i int) error {
					return tx.CreateIncident(&bot.Incident{Title: "old", Severity: bot.SEV3, Status: bot.StatusResolved,
						Source: "bench", DedupKey: fmt.Sprintf("old-%d", i), DeclaredAt: now, ResolvedAt: now, UpdatedAt: now})
				})
			}
			fill(b, db.Update, 200, func(tx bot.Tx, i int) error {
				return tx.Enqueue(bot.Delivery{Key: fmt.Sprintf("new:%d", i%20), Op: []string{bot.OpPost, bot.OpInvite}[i%2]})
			})
			fill(b, db.Update, 50, func(tx bot.Tx, i int) error {
				return tx.CreateIncident(&bot.Incident{Title: "open", Severity: bot.Severity(1 + i%4), Status: bot.StatusInvestigating,
					Source: "bench", DedupKey: fmt.Sprintf("open-%d", i), DeclaredAt: now, UpdatedAt: now})
			})
			for b.Loop() {
				if _, err := db.OutboxBacklog(b.Context(), now); err != nil {
					b.Fatal(err)
				}
				if _, err := db.OpenIncidentCounts(b.Context()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// fill runs add n times, in transactions of up to 1,000.
func fill(b *testing.B, update func(ctx context.Context, fn func(bot.Tx) error) error, n int, add func(tx bot.Tx, i int) error) {
	b.Helper()
	for start := 0; start < n; start += 1000 {
		err := update(b.Context(), func(tx bot.Tx) error {
			for i := start; i < min(start+1000, n); i++ {
				if err := add(tx, i); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}
