package bot

import (
	"testing"
	"time"
)

func TestSummaryHints(t *testing.T) {
	t0 := time.Date(2026, 3, 14, 2, 0, 0, 0, time.UTC)
	due := t0.Add(time.Minute)
	var h summaryHints
	if h.pending(1, t0) {
		t.Fatal("a fresh Service trusts a hint it never set")
	}
	h.committed(summaryNote{}) // nothing queued: nothing noted
	if len(h.due) != 0 {
		t.Fatalf("the zero note set a hint: %v", h.due)
	}

	h.committed(h.note(1, due))
	if !h.pending(1, t0) || h.pending(2, t0) {
		t.Fatal("a committed summary is not remembered for its incident alone")
	}
	if h.pending(1, due) {
		t.Fatal("a hint outlives the due time of its entry")
	}
	if h.pending(1, t0) {
		t.Fatal("a lapsed hint came back")
	}

	// The summary is delivered between the commit and committed: the note
	// is stale and must not be remembered.
	n := h.note(1, due)
	h.forget(1) // what delivering does before it waits for the writer
	h.committed(n)
	if h.pending(1, t0) {
		t.Fatal("a summary handed to its handler before committed is remembered as queued")
	}
}
