package bot_test

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sitrep-io/sitrep/bot"
)

// TestCommandsRecord checks that every service command writes its timeline
// events and queues its outbox entries, in one go.
func TestCommandsRecord(t *testing.T) {
	const (
		post      = bot.OpPost + ":" + bot.TargetIncident
		broadcast = bot.OpPost + ":" + bot.TargetBroadcast
	)
	type result struct {
		inc bot.Incident
		err error
	}
	tests := []struct {
		name       string
		broadcast  bool
		setup      func(e *env) bot.Incident // the incident acted on; zero: none
		run        func(e *env, inc bot.Incident) result
		wantEvents []bot.EventKind
		wantOps    []string
	}{
		{
			name: "Declare", broadcast: true,
			run: func(e *env, _ bot.Incident) result {
				inc, err := e.svc.Declare(e.ctx(), bot.DeclareRequest{Actor: "U1", Title: "Checkout down"})
				return result{inc, err}
			},
			wantEvents: []bot.EventKind{bot.KindDeclared, bot.KindRoleAssigned},
			wantOps:    []string{bot.OpCreateChannel, bot.OpPostCard, bot.OpInvite, bot.OpAnnounce},
		},
		{
			name: "DeclareNoBroadcast",
			run: func(e *env, _ bot.Incident) result {
				inc, err := e.svc.Declare(e.ctx(), bot.DeclareRequest{Actor: "U1", Title: "Checkout down"})
				return result{inc, err}
			},
			wantEvents: []bot.EventKind{bot.KindDeclared, bot.KindRoleAssigned},
			wantOps:    []string{bot.OpCreateChannel, bot.OpPostCard, bot.OpInvite},
		},
		{
			name: "IngestAlertOpens", broadcast: true,
			run: func(e *env, _ bot.Incident) result {
				out, err := e.svc.IngestAlert(e.ctx(), bot.Alert{Source: "webhook", DedupKey: "k", Title: "5xx", Firing: true})
				return result{out.Incident, err}
			},
			wantEvents: []bot.EventKind{bot.KindAlertFired, bot.KindDeclared},
			wantOps:    []string{bot.OpCreateChannel, bot.OpPostCard, bot.OpAnnounce}, // no one to invite
		},
		{
			name: "IngestAlertRepeats", broadcast: true,
			setup: func(e *env) bot.Incident { return e.alert(bot.Alert{DedupKey: "k", Firing: true}).Incident },
			run: func(e *env, _ bot.Incident) result {
				out, err := e.svc.IngestAlert(e.ctx(), bot.Alert{Source: "webhook", DedupKey: "k", Title: "5xx", Firing: true})
				return result{out.Incident, err}
			},
			wantEvents: []bot.EventKind{bot.KindAlertFired},
			wantOps:    []string{},
		},
		{
			name:  "Acknowledge",
			setup: func(e *env) bot.Incident { return e.alert(bot.Alert{DedupKey: "k", Firing: true}).Incident },
			run: func(e *env, inc bot.Incident) result {
				inc, err := e.svc.Acknowledge(e.ctx(), "U2", inc.ID)
				return result{inc, err}
			},
			wantEvents: []bot.EventKind{bot.KindAcknowledged},
			wantOps:    []string{post, bot.OpRefreshCard, bot.OpSetTopic},
		},
		{
			name: "SetStatus", broadcast: true,
			setup: func(e *env) bot.Incident { return e.opened("x") },
			run: func(e *env, inc bot.Incident) result {
				inc, err := e.svc.SetStatus(e.ctx(), "U2", inc.ID, bot.StatusIdentified, "found it")
				return result{inc, err}
			},
			wantEvents: []bot.EventKind{bot.KindStatusChanged},
			wantOps:    []string{post, bot.OpRefreshCard, bot.OpSetTopic},
		},
		{
			name: "Resolve", broadcast: true,
			setup: func(e *env) bot.Incident { return e.opened("x") },
			run: func(e *env, inc bot.Incident) result {
				inc, err := e.svc.Resolve(e.ctx(), "U2", inc.ID, "rolled back")
				return result{inc, err}
			},
			wantEvents: []bot.EventKind{bot.KindStatusChanged},
			wantOps:    []string{post, broadcast, bot.OpRefreshCard, bot.OpSetTopic},
		},
		{
			name:  "ResolveNoBroadcast",
			setup: func(e *env) bot.Incident { return e.opened("x") },
			run: func(e *env, inc bot.Incident) result {
				inc, err := e.svc.Resolve(e.ctx(), "U2", inc.ID, "")
				return result{inc, err}
			},
			wantEvents: []bot.EventKind{bot.KindStatusChanged},
			wantOps:    []string{post, bot.OpRefreshCard, bot.OpSetTopic},
		},
		{
			name:  "SetSeverity",
			setup: func(e *env) bot.Incident { return e.opened("x") },
			run: func(e *env, inc bot.Incident) result {
				inc, err := e.svc.SetSeverity(e.ctx(), "U2", inc.ID, bot.SEV1)
				return result{inc, err}
			},
			wantEvents: []bot.EventKind{bot.KindSeverityChanged},
			wantOps:    []string{post, bot.OpRefreshCard, bot.OpSetTopic},
		},
		{
			name:  "AssignCommander",
			setup: func(e *env) bot.Incident { return e.opened("x") },
			run: func(e *env, inc bot.Incident) result {
				inc, err := e.svc.AssignRole(e.ctx(), "U1", inc.ID, bot.RoleCommander, "<@U3|carol>")
				return result{inc, err}
			},
			wantEvents: []bot.EventKind{bot.KindRoleAssigned},
			wantOps:    []string{bot.OpInvite, post, bot.OpRefreshCard, bot.OpSetTopic},
		},
		{
			name:  "AssignComms",
			setup: func(e *env) bot.Incident { return e.opened("x") },
			run: func(e *env, inc bot.Incident) result {
				inc, err := e.svc.AssignRole(e.ctx(), "U1", inc.ID, bot.RoleComms, "@dave")
				return result{inc, err}
			},
			wantEvents: []bot.EventKind{bot.KindRoleAssigned},
			wantOps:    []string{bot.OpInvite, post, bot.OpRefreshCard}, // the topic names the commander only
		},
		{
			name: "AddNote", broadcast: true,
			setup: func(e *env) bot.Incident { return e.opened("x") },
			run: func(e *env, inc bot.Incident) result {
				inc, err := e.svc.AddNote(e.ctx(), "U2", inc.ID, "looked at the dashboards")
				return result{inc, err}
			},
			wantEvents: []bot.EventKind{bot.KindNote},
			wantOps:    []string{},
		},
		{
			name: "PostUpdate", broadcast: true,
			setup: func(e *env) bot.Incident { return e.opened("x") },
			run: func(e *env, inc bot.Incident) result {
				inc, err := e.svc.PostUpdate(e.ctx(), "U2", inc.ID, "rolling back")
				return result{inc, err}
			},
			wantEvents: []bot.EventKind{bot.KindStatusUpdate},
			wantOps:    []string{post, broadcast},
		},
		{
			name: "PostUpdatePrivate", broadcast: true,
			setup: func(e *env) bot.Incident {
				inc, err := e.svc.Declare(e.ctx(), bot.DeclareRequest{Actor: "U1", Title: "secret", Private: true})
				if err != nil {
					e.t.Fatal(err)
				}
				return inc
			},
			run: func(e *env, inc bot.Incident) result {
				inc, err := e.svc.PostUpdate(e.ctx(), "U2", inc.ID, "rolling back")
				return result{inc, err}
			},
			wantEvents: []bot.EventKind{bot.KindStatusUpdate},
			wantOps:    []string{post}, // a private incident is not mirrored
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := bot.ServiceConfig{}
			if tt.broadcast {
				cfg.BroadcastChannel = broadcast
			}
			e := newEnv(t, cfg)
			var target bot.Incident
			if tt.setup != nil {
				target = tt.setup(e)
			}
			eventsBefore := 0
			if target.ID != 0 {
				eventsBefore = len(e.timeline(target.ID))
			}
			lastID := e.lastDeliveryID()
			woken := 0
			e.svc.OnCommit(func() { woken++ })
			at := e.clock.Advance(time.Minute)

			res := tt.run(e, target)
			if res.err != nil {
				t.Fatalf("command: %v", res.err)
			}
			if target.ID != 0 && res.inc.ID != target.ID {
				t.Fatalf("command acted on %s, want %s", res.inc.Key(), target.Key())
			}
			evs := e.timeline(res.inc.ID)[eventsBefore:]
			if got := kinds(evs); !reflect.DeepEqual(got, tt.wantEvents) {
				t.Errorf("new events = %v, want %v", got, tt.wantEvents)
			}
			for _, ev := range evs {
				if !ev.RecordedAt.Equal(at) {
					t.Errorf("%s event recorded at %v, want %v", ev.Kind, ev.RecordedAt, at)
				}
			}
			ds := e.deliveriesAfter(lastID)
			if got := opNames(t, ds); !reflect.DeepEqual(got, tt.wantOps) {
				t.Errorf("new outbox entries = %v, want %v", got, tt.wantOps)
			}
			for _, d := range ds {
				if want := "incident:" + strings.TrimPrefix(res.inc.Key(), "INC-"); d.Key != want || d.IncidentID != res.inc.ID {
					t.Errorf("entry %s has key %q incident %d, want %q %d", d.Op, d.Key, d.IncidentID, want, res.inc.ID)
				}
				if d.State != bot.DeliveryPending {
					t.Errorf("entry %s is %s, want pending", d.Op, d.State)
				}
			}
			// The dispatcher is woken once after a commit that queued
			// deliveries, and not at all after one that queued none (a
			// wake costs it a claim on the single writer connection).
			if wantWoken := min(len(tt.wantOps), 1); woken != wantWoken {
				t.Errorf("OnCommit hook called %d times after queueing %d entries, want %d", woken, len(tt.wantOps), wantWoken)
			}
			stored := e.incident(res.inc.ID)
			if !reflect.DeepEqual(noLabels(stored), noLabels(res.inc)) {
				t.Errorf("returned incident differs from the stored one:\n got %+v\nwant %+v", res.inc, stored)
			}
		})
	}
}

// TestWakeAfterHookEnqueues: deliveries queued by an event hook, inside
// the change's transaction, wake the dispatcher too; a failed change wakes
// nothing.
func TestWakeAfterHookEnqueues(t *testing.T) {
	e := newEnv(t, bot.ServiceConfig{})
	inc := e.opened("x")
	e.hook(func(tx bot.Tx, inc bot.Incident, ev bot.Event) error {
		if ev.Kind != bot.KindNote {
			return nil
		}
		d, err := bot.NewDelivery(fmt.Sprintf("incident:%d", inc.ID), bot.OpPost, inc.ID, nil)
		if err != nil {
			return err
		}
		return tx.Enqueue(d)
	})
	woken := 0
	e.svc.OnCommit(func() { woken++ })
	lastID := e.lastDeliveryID()
	if _, err := e.svc.AddNote(e.ctx(), "U1", inc.ID, "looked at the dashboards"); err != nil {
		t.Fatal(err)
	}
	if got := opNames(t, e.deliveriesAfter(lastID)); len(got) != 1 || woken != 1 {
		t.Errorf("hook queued %v; OnCommit called %d times, want 1", got, woken)
	}
	if _, err := e.svc.AddNote(e.ctx(), "U1", 999, "no such incident"); err == nil {
		t.Fatal("a note on a missing incident succeeded")
	}
	if woken != 1 {
		t.Errorf("OnCommit called after a failed change (%d calls)", woken)
	}
}

// TestHooksSeeStoredIncident: the incident a hook is given is the stored
// one, whether the change only read it (a repeated alert: served from that
// read) or changed it (an acknowledgement: read again).
func TestHooksSeeStoredIncident(t *testing.T) {
	e := newEnv(t, bot.ServiceConfig{})
	inc := e.alert(bot.Alert{DedupKey: "k", Firing: true, Labels: map[string]string{"service": "gateway"}}).Incident
	var seen []bot.Incident
	e.hook(func(tx bot.Tx, inc bot.Incident, ev bot.Event) error {
		seen = append(seen, inc)
		return nil
	})
	e.alert(bot.Alert{DedupKey: "k", Firing: true, EventID: "again"})
	before := e.incident(inc.ID)
	e.clock.Advance(time.Minute)
	if _, err := e.svc.Acknowledge(e.ctx(), "U2", inc.ID); err != nil {
		t.Fatal(err)
	}
	after := e.incident(inc.ID)
	if len(seen) != 2 {
		t.Fatalf("hooks ran %d times, want 2", len(seen))
	}
	for i, want := range []bot.Incident{before, after} {
		if !reflect.DeepEqual(noLabels(seen[i]), noLabels(want)) {
			t.Errorf("hook %d saw\n%+v\nstored\n%+v", i, seen[i], want)
		}
	}
	if seen[1].Status != bot.StatusInvestigating || seen[0].Labels["service"] != "gateway" {
		t.Errorf("hooks saw %s, %v", seen[1].Status, seen[0].Labels)
	}
}

func TestDeclare(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		e := newEnv(t, bot.ServiceConfig{DefaultSeverity: bot.SEV2})
		inc, err := e.svc.Declare(e.ctx(), bot.DeclareRequest{Actor: "U1", Title: "  Checkout down  ", Description: "5xx", Private: true})
		if err != nil {
			t.Fatal(err)
		}
		now := e.clock.Now()
		want := bot.Incident{ID: inc.ID, Title: "Checkout down", Description: "5xx", Severity: bot.SEV2, Status: bot.StatusInvestigating,
			Commander: "U1", Private: true, Source: "chat", Labels: map[string]string{},
			DetectedAt: now, DeclaredAt: now, AcknowledgedAt: now, UpdatedAt: now}
		if got := e.incident(inc.ID); !reflect.DeepEqual(got, want) {
			t.Errorf("stored incident =\n%+v\nwant\n%+v", got, want)
		}
		if inc.ID == 0 || inc.Key() != bot.IncidentKey(inc.ID) {
			t.Errorf("returned incident has no id: %+v", inc)
		}
	})
	t.Run("OKDefaultSeverity", func(t *testing.T) {
		e := newEnv(t, bot.ServiceConfig{}) // an invalid default falls back to SEV3
		if got := e.declare("x").Severity; got != bot.SEV3 {
			t.Errorf("severity = %v, want SEV3", got)
		}
	})
	for _, tt := range []struct {
		name  string
		req   bot.DeclareRequest
		field string
	}{
		{"ErrTitleRequired", bot.DeclareRequest{Actor: "U1", Title: "   "}, "title"},
		{"ErrSeverity", bot.DeclareRequest{Actor: "U1", Title: "x", Severity: 9}, "severity"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, bot.ServiceConfig{})
			before := e.snapshot()
			_, err := e.svc.Declare(e.ctx(), tt.req)
			wantCode(t, err, bot.EINVALID)
			var be *bot.Error
			if !errors.As(err, &be) || be.Field != tt.field {
				t.Errorf("error field = %+v, want %q", be, tt.field)
			}
			e.requireUnchanged(before)
		})
	}
}

func TestCommandErrorsChangeNothing(t *testing.T) {
	tests := []struct {
		name     string
		run      func(e *env, id int64) error
		wantCode string
	}{
		{"ErrSeverityInvalid", func(e *env, id int64) error { _, err := e.svc.SetSeverity(e.ctx(), "U1", id, 0); return err }, bot.EINVALID},
		{"ErrSeveritySame", func(e *env, id int64) error { _, err := e.svc.SetSeverity(e.ctx(), "U1", id, bot.SEV3); return err }, bot.EINVALID},
		{"ErrRoleNoUser", func(e *env, id int64) error {
			_, err := e.svc.AssignRole(e.ctx(), "U1", id, bot.RoleCommander, " ")
			return err
		}, bot.EINVALID},
		{"ErrRoleUnknown", func(e *env, id int64) error {
			_, err := e.svc.AssignRole(e.ctx(), "U1", id, "scribe", "U2")
			return err
		}, bot.EINVALID},
		{"ErrRoleSameHolder", func(e *env, id int64) error {
			_, err := e.svc.AssignRole(e.ctx(), "U1", id, bot.RoleCommander, "<@U1>")
			return err
		}, bot.EINVALID},
		{"ErrNoteEmpty", func(e *env, id int64) error { _, err := e.svc.AddNote(e.ctx(), "U1", id, "  "); return err }, bot.EINVALID},
		{"ErrUpdateEmpty", func(e *env, id int64) error { _, err := e.svc.PostUpdate(e.ctx(), "U1", id, ""); return err }, bot.EINVALID},
		{"ErrNotFound", func(e *env, id int64) error { _, err := e.svc.AddNote(e.ctx(), "U1", id+1, "x"); return err }, bot.ENOTFOUND},
		{"ErrTimelineNotFound", func(e *env, id int64) error { _, err := e.svc.Timeline(e.ctx(), id+1); return err }, bot.ENOTFOUND},
		{"ErrStatusNotFound", func(e *env, id int64) error {
			_, err := e.svc.SetStatus(e.ctx(), "U1", id+1, bot.StatusResolved, "")
			return err
		}, bot.ENOTFOUND},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, bot.ServiceConfig{BroadcastChannel: broadcast})
			inc := e.declare("x")
			e.clock.Advance(time.Minute)
			before := e.snapshot()
			wantCode(t, tt.run(e, inc.ID), tt.wantCode)
			e.requireUnchanged(before)
		})
	}
}

// TestFailureMidwayLeavesNothing makes a command fail after it has written
// its event and queued its messages: re-opening an incident whose dedup key
// another open incident now holds hits the unique index on the final
// UpdateIncident. Nothing of the command may remain.
func TestFailureMidwayLeavesNothing(t *testing.T) {
	e := newEnv(t, bot.ServiceConfig{BroadcastChannel: broadcast})
	first := e.alert(bot.Alert{DedupKey: "disk-full", Firing: true}).Incident
	if _, err := e.svc.Resolve(e.ctx(), "U1", first.ID, "cleaned up"); err != nil {
		t.Fatal(err)
	}
	second := e.alert(bot.Alert{DedupKey: "disk-full", Firing: true})
	if !second.Opened || second.Incident.ID == first.ID {
		t.Fatalf("the alert after resolve did not open a new incident: %+v", second)
	}
	e.clock.Advance(time.Minute)
	before := e.snapshot()
	woken := 0
	e.svc.OnCommit(func() { woken++ })

	_, err := e.svc.SetStatus(e.ctx(), "U1", first.ID, bot.StatusInvestigating, "it is back")
	wantCode(t, err, bot.ECONFLICT)
	e.requireUnchanged(before)
	if got := e.incident(first.ID); got.Status != bot.StatusResolved || got.ResolvedAt.IsZero() {
		t.Errorf("%s after the failed re-open: %s resolved at %v, want still resolved", got.Key(), got.Status, got.ResolvedAt)
	}
	if woken != 0 {
		t.Errorf("OnCommit hook called %d times after a failed command, want 0", woken)
	}
}

// noLabels clears empty labels, which the store returns as an empty map.
func noLabels(inc bot.Incident) bot.Incident {
	if len(inc.Labels) == 0 {
		inc.Labels = nil
	}
	return inc
}

// TestHookErrorLeavesNothing: an event hook runs inside the command's
// transaction, so its error undoes the whole command.
func TestHookErrorLeavesNothing(t *testing.T) {
	e := newEnv(t, bot.ServiceConfig{BroadcastChannel: broadcast})
	inc := e.opened("x")
	boom := errors.New("write-back refused")
	var seen []bot.EventKind
	e.hook(func(tx bot.Tx, hinc bot.Incident, ev bot.Event) error {
		seen = append(seen, ev.Kind)
		if hinc.Status != bot.StatusResolved {
			t.Errorf("hook saw %s as %s, want the new state (resolved)", hinc.Key(), hinc.Status)
		}
		return boom
	})
	before := e.snapshot()
	_, err := e.svc.Resolve(e.ctx(), "U1", inc.ID, "done")
	if !errors.Is(err, boom) {
		t.Fatalf("Resolve error = %v, want %v", err, boom)
	}
	if want := []bot.EventKind{bot.KindStatusChanged}; !reflect.DeepEqual(seen, want) {
		t.Errorf("hook saw %v, want %v", seen, want)
	}
	e.requireUnchanged(before)
}
