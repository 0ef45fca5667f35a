package storetest

import (
	"reflect"
	"testing"
	"time"

	"github.com/sitrep-io/sitrep/bot"
)

// testMetricsCounts checks what a metrics scrape reads: the unfinished
// outbox entries by op with the oldest due time among those due (finished
// entries and entries scheduled for later are not overdue), and the open
// incidents by severity, as another handle sees them.
func testMetricsCounts(t *testing.T, open Opener) {
	db := open(t)
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	entry := func(key, op string, created, next time.Time) bot.Delivery {
		return bot.Delivery{Key: key, Op: op, IncidentID: 1, CreatedAt: created, NextAttemptAt: next}
	}
	// Finished and in-flight entries first, claimed out of the way.
	ids := enqueue(t, db,
		entry("k:done", bot.OpPost, at(-30*time.Minute), at(-30*time.Minute)),
		entry("k:failed", bot.OpPost, at(-40*time.Minute), at(-40*time.Minute)),
		entry("k:sending", bot.OpPin, at(-3*time.Minute), at(-2*time.Minute)),
	)
	if got := claim(t, db, t0, 10); len(got) != 3 {
		t.Fatalf("claimed %v, want the 3 entries", got)
	}
	if err := db.CompleteDelivery(t.Context(), ids[0], nil, t0); err != nil {
		t.Fatalf("CompleteDelivery: %v", err)
	}
	if err := db.FailDelivery(t.Context(), ids[1], "no", t0); err != nil {
		t.Fatalf("FailDelivery: %v", err)
	}
	enqueue(t, db,
		entry("k:a", bot.OpPost, at(-10*time.Minute), time.Time{}),              // due at once: since created
		entry("k:b", bot.OpPost, at(-time.Minute), at(-5*time.Minute)),          // due since its next attempt
		entry("k:later", bot.OpInvite, at(-20*time.Minute), at(30*time.Minute)), // scheduled: waiting, not overdue
	)

	other := open(t)
	got, err := other.OutboxBacklog(t.Context(), t0)
	if err != nil {
		t.Fatalf("OutboxBacklog: %v", err)
	}
	want := []bot.OutboxBacklog{
		{Op: bot.OpInvite, Unfinished: 1},
		{Op: bot.OpPin, Unfinished: 1, OldestDue: at(-2 * time.Minute)},
		{Op: bot.OpPost, Unfinished: 2, OldestDue: at(-10 * time.Minute)},
	}
	byOp := map[string]bot.OutboxBacklog{}
	for _, b := range got {
		byOp[b.Op] = b
	}
	if len(got) != len(want) {
		t.Errorf("OutboxBacklog = %+v, want %+v", got, want)
	}
	for _, w := range want {
		if g := byOp[w.Op]; g.Unfinished != w.Unfinished || !g.OldestDue.Equal(w.OldestDue) {
			t.Errorf("OutboxBacklog[%s] = %+v, want %+v", w.Op, g, w)
		}
	}

	sev := func(s bot.Severity, status bot.Status) bot.Incident {
		inc := NewIncident("metrics")
		inc.Severity, inc.Status = s, status
		if status == bot.StatusResolved {
			inc.ResolvedAt = t0
		}
		return inc
	}
	Create(t, db, sev(bot.SEV3, bot.StatusInvestigating), sev(bot.SEV3, bot.StatusTriggered),
		sev(bot.SEV1, bot.StatusMonitoring), sev(bot.SEV2, bot.StatusResolved))
	counts, err := other.OpenIncidentCounts(t.Context())
	if err != nil {
		t.Fatalf("OpenIncidentCounts: %v", err)
	}
	if want := map[bot.Severity]int{bot.SEV1: 1, bot.SEV3: 2}; !reflect.DeepEqual(counts, want) {
		t.Errorf("OpenIncidentCounts = %v, want %v", counts, want)
	}
}
