package bot

import (
	"context"
	"sync"
	"time"
)

// Alert summary hints.
//
// Why: in an alert storm every repeated alert asked the store whether its
// incident's summary was already queued (PendingCoalesced), on the single
// writer every webhook waits for, although the answer stays "yes" for the
// whole summary window. summaryHints remembers, in memory, the summaries
// this Service queued and saw committed, so a repeat can skip the query.
//
// The database stays the source of truth: a hint only skips a query whose
// answer it can prove. A hint for incident N says "the summary entry this
// Service committed for N has not been handed to the summary handler yet".
// Such an entry is still pending, because only two things take an entry out
// of pending: the dispatcher claiming it, which is followed by the handler
// (delivering forgets the hint first), and the supersede of a newer entry
// with the same coalesce value, which only alertRecorded queues, and only
// when the query found none pending. Three races are closed:
//
//   - A hint is set only after the commit (committed), never for a change
//     that rolled back; a restart starts without hints and asks the store.
//   - The handler can run between the commit and committed: note takes the
//     generation inside the transaction, every delivery bumps it, and
//     committed drops a note whose generation is stale (one counter for all
//     incidents: it may drop a good hint, which costs only a query).
//   - A change can decide to skip on a hint just before delivering forgets
//     it and commit after the handler has read the counts: delivering waits
//     for the writer to finish what it was running (an empty Update, cheap
//     and at most once per window per incident) before the handler reads.
//
// A hint also lapses at the due time of its entry (service clock), which
// only ever makes a repeat ask the store again. The forgetting assumes the
// Service's own AlertHandlers deliver the summaries it queues, as serve
// wires it; were another Service to deliver them, the lapse alone would
// keep the hint right as long as both read the same clock (no entry is
// claimed before its due time).
type summaryHints struct {
	mu  sync.Mutex
	due map[int64]time.Time // incident → due time of its committed summary
	gen uint64              // summary deliveries started
}

// summaryNote is a summary queued by a change, to be hinted once the change
// has committed. The zero value notes nothing.
type summaryNote struct {
	incidentID int64
	due        time.Time
	gen        uint64
}

// pending reports whether a summary of the incident is known to be queued.
func (h *summaryHints) pending(incidentID int64, now time.Time) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	due, ok := h.due[incidentID]
	if ok && !now.Before(due) {
		delete(h.due, incidentID)
		return false
	}
	return ok
}

// note describes a summary being queued in the current transaction.
func (h *summaryHints) note(incidentID int64, due time.Time) summaryNote {
	h.mu.Lock()
	defer h.mu.Unlock()
	return summaryNote{incidentID: incidentID, due: due, gen: h.gen}
}

// committed records n after its transaction committed, unless the summary
// has been handed to the handler since.
func (h *summaryHints) committed(n summaryNote) {
	if n.incidentID == 0 {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.gen != n.gen {
		return
	}
	if h.due == nil {
		h.due = map[int64]time.Time{}
	}
	h.due[n.incidentID] = n.due
}

// delivering forgets the incident's hint, then waits until every change
// that may have skipped on it has committed or rolled back: the writer
// runs changes one transaction after another, so an empty change queued
// now runs after them.
func (h *summaryHints) delivering(ctx context.Context, st Store, incidentID int64) error {
	h.forget(incidentID)
	return st.Update(ctx, func(Tx) error { return nil })
}

// forget drops the incident's hint and makes the notes taken so far stale.
func (h *summaryHints) forget(incidentID int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.due, incidentID)
	h.gen++
}
