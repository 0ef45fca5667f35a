package bot_test

import (
	"testing"
	"time"

	"github.com/sitrep-io/sitrep/bot"
)

// TestLifecycle walks incidents through status changes, a minute apart,
// and checks the key times each step leaves. A time is given as the step
// (1-based) that set it; 0 is unset, -1 is "when the incident opened".
func TestLifecycle(t *testing.T) {
	type step struct {
		to            bot.Status
		wantCode      string // the error, when the move is refused
		wantReopened  bool
		ack, mit, res int
	}
	tests := []struct {
		name      string
		fromAlert bool // opened triggered by an alert, else declared (investigating)
		steps     []step
	}{
		{"TriggeredToInvestigatingAcknowledges", true, []step{
			{to: bot.StatusInvestigating, ack: 1},
			{to: bot.StatusIdentified, ack: 1},
		}},
		{"TriggeredToResolvedSetsAll", true, []step{
			{to: bot.StatusResolved, ack: 1, mit: 1, res: 1},
		}},
		{"SkipToResolvedSetsMitigated", false, []step{
			{to: bot.StatusResolved, ack: -1, mit: 1, res: 1},
		}},
		{"MitigatedFirstTimeOnly", false, []step{
			{to: bot.StatusIdentified, ack: -1},
			{to: bot.StatusMonitoring, ack: -1, mit: 2},
			{to: bot.StatusIdentified, ack: -1, mit: 2, wantReopened: true},
			{to: bot.StatusMonitoring, ack: -1, mit: 2},
			{to: bot.StatusResolved, ack: -1, mit: 2, res: 5},
		}},
		{"ReopenClearsResolved", false, []step{
			{to: bot.StatusMonitoring, ack: -1, mit: 1},
			{to: bot.StatusResolved, ack: -1, mit: 1, res: 2},
			{to: bot.StatusInvestigating, ack: -1, mit: 1, wantReopened: true},
			{to: bot.StatusResolved, ack: -1, mit: 1, res: 4},
		}},
		{"ReopenToTriggeredClearsResolved", true, []step{
			{to: bot.StatusResolved, ack: 1, mit: 1, res: 1},
			{to: bot.StatusTriggered, ack: 1, mit: 1, wantReopened: true},
		}},
		{"ErrSameStatus", false, []step{
			{to: bot.StatusInvestigating, wantCode: bot.EINVALID, ack: -1},
			{to: bot.StatusIdentified, ack: -1},
			{to: bot.StatusIdentified, wantCode: bot.EINVALID, ack: -1},
		}},
		{"ErrUnknownStatus", false, []step{
			{to: bot.Status("closed"), wantCode: bot.EINVALID, ack: -1},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, bot.ServiceConfig{})
			opened := e.clock.Now()
			var inc bot.Incident
			if tt.fromAlert {
				inc = e.alert(bot.Alert{DedupKey: "k", Firing: true}).Incident
			} else {
				inc = e.declare("Lifecycle")
			}
			at := map[int]time.Time{-1: opened}
			for i, st := range tt.steps {
				n := i + 1
				at[n] = e.clock.Advance(time.Minute)
				before := e.snapshot()
				got, err := e.svc.SetStatus(e.ctx(), "U2", inc.ID, st.to, "step")
				if st.wantCode != "" {
					if code := bot.ErrorCode(err); code != st.wantCode {
						t.Fatalf("step %d → %s: error code %q (%v), want %q", n, st.to, code, err, st.wantCode)
					}
					e.requireUnchanged(before)
				} else if err != nil {
					t.Fatalf("step %d → %s: %v", n, st.to, err)
				} else {
					if got.Status != st.to {
						t.Errorf("step %d: returned status %s, want %s", n, got.Status, st.to)
					}
					evs := e.timeline(inc.ID)
					last := evs[len(evs)-1]
					if last.Kind != bot.KindStatusChanged || last.Data["to"] != string(st.to) || last.Data["reopened"] != st.wantReopened {
						t.Errorf("step %d: last event %s %v, want status_changed to %s reopened=%v", n, last.Kind, last.Data, st.to, st.wantReopened)
					}
					if !last.OccurredAt.Equal(at[n]) {
						t.Errorf("step %d: event at %v, want %v", n, last.OccurredAt, at[n])
					}
				}
				stored := e.incident(inc.ID)
				if st.wantCode == "" && stored.Status != st.to {
					t.Errorf("step %d: stored status %s, want %s", n, stored.Status, st.to)
				}
				for _, c := range []struct {
					name string
					got  time.Time
					want int
				}{{"acknowledged_at", stored.AcknowledgedAt, st.ack}, {"mitigated_at", stored.MitigatedAt, st.mit}, {"resolved_at", stored.ResolvedAt, st.res}} {
					want := at[c.want] // zero time for 0
					if !c.got.Equal(want) {
						t.Errorf("step %d (→ %s): %s = %v, want %v", n, st.to, c.name, c.got, want)
					}
				}
			}
		})
	}
}

// TestLifecyclePersists checks that status and key times survive closing
// and reopening the database file.
func TestLifecyclePersists(t *testing.T) {
	e := newEnv(t, bot.ServiceConfig{})
	inc := e.declare("Persisted")
	e.clock.Advance(time.Minute)
	if _, err := e.svc.SetStatus(e.ctx(), "U1", inc.ID, bot.StatusMonitoring, ""); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Minute)
	if _, err := e.svc.Resolve(e.ctx(), "U1", inc.ID, "fixed"); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Minute)
	want, err := e.svc.SetStatus(e.ctx(), "U1", inc.ID, bot.StatusIdentified, "it is back")
	if err != nil {
		t.Fatal(err)
	}
	wantEvents := len(e.timeline(inc.ID))

	e.reopen()
	got := e.incident(inc.ID)
	if got.Status != bot.StatusIdentified || !got.AcknowledgedAt.Equal(want.AcknowledgedAt) ||
		!got.MitigatedAt.Equal(want.MitigatedAt) || !got.ResolvedAt.IsZero() || !got.UpdatedAt.Equal(want.UpdatedAt) {
		t.Errorf("after reopen: %s ack %v mit %v res %v upd %v\nwant %s ack %v mit %v res zero upd %v",
			got.Status, got.AcknowledgedAt, got.MitigatedAt, got.ResolvedAt, got.UpdatedAt,
			want.Status, want.AcknowledgedAt, want.MitigatedAt, want.UpdatedAt)
	}
	if got := len(e.timeline(inc.ID)); got != wantEvents {
		t.Errorf("after reopen: %d events, want %d", got, wantEvents)
	}
	// The reopened file still enforces the lifecycle.
	_, err = e.svc.SetStatus(e.ctx(), "U1", inc.ID, bot.StatusIdentified, "")
	wantCode(t, err, bot.EINVALID)
}

func TestAcknowledge(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		e := newEnv(t, bot.ServiceConfig{})
		inc := e.alert(bot.Alert{DedupKey: "k", Firing: true}).Incident
		at := e.clock.Advance(90 * time.Second)
		got, err := e.svc.Acknowledge(e.ctx(), "U2", inc.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != bot.StatusInvestigating || !got.AcknowledgedAt.Equal(at) {
			t.Errorf("acknowledged: %s at %v, want investigating at %v", got.Status, got.AcknowledgedAt, at)
		}
		evs := e.timeline(inc.ID)
		if last := evs[len(evs)-1]; last.Kind != bot.KindAcknowledged || last.Actor != "U2" {
			t.Errorf("last event = %s by %s, want acknowledged by U2", last.Kind, last.Actor)
		}
	})
	t.Run("ErrAlreadyAcknowledged", func(t *testing.T) {
		e := newEnv(t, bot.ServiceConfig{})
		inc := e.declare("declared incidents start investigating")
		before := e.snapshot()
		_, err := e.svc.Acknowledge(e.ctx(), "U2", inc.ID)
		wantCode(t, err, bot.EINVALID)
		e.requireUnchanged(before)
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		e := newEnv(t, bot.ServiceConfig{})
		_, err := e.svc.Acknowledge(e.ctx(), "U2", 99)
		wantCode(t, err, bot.ENOTFOUND)
	})
}
