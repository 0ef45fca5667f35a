// Package storetest is the contract every store implementation passes: the
// guarantees bot/ports.go documents, checked on a real database. An
// implementation's own tests call Run with an Opener for each fresh
// database; tests of what only one implementation has (SQLite's group
// commit and busy handling, a schema's migrations) stay with it.
package storetest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/sitrep-io/sitrep/bot"
)

// Store is what the contract needs of an implementation: the port, plus
// listing the outbox (for inspection) and closing a handle.
type Store interface {
	bot.Store
	// Deliveries lists outbox entries, oldest first, optionally only those
	// in the given states.
	Deliveries(ctx context.Context, states ...bot.DeliveryState) ([]bot.Delivery, error)
	// SetDeliveryLease sets how long this handle's claims hold (the
	// default is bot.DeliveryLease).
	SetDeliveryLease(d time.Duration)
	Close() error
}

// Opener opens a new handle on one database, as another process (a
// replica, or the same process after a restart) would: every handle sees
// the same data. The handle is closed when the test ends; a test may close
// it earlier, so closing twice must be harmless.
//
// Inside the suite, open(t) opens a handle on the database of test t: the
// first call in a test or subtest makes a fresh database for it.
type Opener func(t *testing.T) Store

// Run runs the contract suite; fresh makes a new, empty, migrated database
// for each test and returns the Opener for it.
func Run(t *testing.T, fresh func(t *testing.T) Opener) {
	tests := []struct {
		name string
		fn   func(*testing.T, Opener)
	}{
		{"IncidentRoundTrip", testIncidentRoundTrip},
		{"NotFound", testNotFound},
		{"UpdateIsOneTransaction", testUpdateIsOneTransaction},
		{"CreateIncidentDedup", testCreateIncidentDedup},
		{"Incidents", testIncidents},
		{"IncidentByChannel", testIncidentByChannel},
		{"Timeline", testTimeline},
		{"AppendEventDedup", testAppendEventDedup},
		{"ConcurrentWriters", testConcurrentWriters},
		{"ReadModifyWriteIsIsolated", testReadModifyWriteIsIsolated},
		{"ReopenKeepsData", testReopenKeepsData},
		{"Enqueue", testEnqueue},
		{"ClaimDeliveries", testClaimDeliveries},
		{"ClaimsAreExclusiveAcrossHandles", testClaimsAreExclusiveAcrossHandles},
		{"ClaimByPriority", testClaimByPriority},
		{"RetryDelivery", testRetryDelivery},
		{"FailDelivery", testFailDelivery},
		{"Coalesce", testCoalesce},
		{"RecoverDeliveries", testRecoverDeliveries},
		{"ClaimLease", testClaimLease},
		{"AlertCounts", testAlertCounts},
		{"OpenIncidentByLabel", testOpenIncidentByLabel},
		{"OpenIncidentByLabelSerializes", testOpenIncidentByLabelSerializes},
		{"MarkChatEvent", testMarkChatEvent},
		{"UpdateEventByDedupKey", testUpdateEventByDedupKey},
		{"CorrectEvent", testCorrectEvent},
		{"PostmortemRecords", testPostmortemRecords},
		{"RunbookRunRoundTrip", testRunbookRunRoundTrip},
		{"UpdateRunbookRunIsConditional", testUpdateRunbookRunIsConditional},
		{"RunbookRunNeedsIncident", testRunbookRunNeedsIncident},
		{"RunbookRunCancelled", testRunbookRunCancelled},
		{"MetricsCounts", testMetricsCounts},
		{"RunbookRunHeartbeat", testRunbookRunHeartbeat},
	}
	open := perTest(fresh)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open) })
	}
}

// perTest opens handles on one fresh database per test.
func perTest(fresh func(t *testing.T) Opener) Opener {
	var mu sync.Mutex
	dbs := map[*testing.T]Opener{}
	return func(t *testing.T) Store {
		t.Helper()
		mu.Lock()
		open, ok := dbs[t]
		if !ok {
			open = fresh(t)
			dbs[t] = open
			t.Cleanup(func() {
				mu.Lock()
				defer mu.Unlock()
				delete(dbs, t)
			})
		}
		mu.Unlock()
		return open(t)
	}
}
