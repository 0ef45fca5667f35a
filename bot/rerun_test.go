package bot_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sitrep-io/sitrep/bot"
	"github.com/sitrep-io/sitrep/store"
)

// rerunningStore runs every change twice, the first attempt discarded, as a
// store does after a change lost to a concurrent one (bot.Store.Update: fn
// may run again). between, when set, runs between the two attempts: the
// concurrent change that won.
type rerunningStore struct {
	*store.DB
	between func(ctx context.Context) error
}

var errDiscarded = errors.New("first attempt discarded")

func (s rerunningStore) Update(ctx context.Context, fn func(bot.Tx) error) error {
	err := s.DB.Update(ctx, func(tx bot.Tx) error {
		if err := fn(tx); err != nil {
			return err
		}
		return errDiscarded
	})
	if err != nil && !errors.Is(err, errDiscarded) {
		return err
	}
	if s.between != nil {
		if err := s.between(ctx); err != nil {
			return err
		}
	}
	return s.DB.Update(ctx, fn)
}

// TestOutcomesOfAChangeThatRanTwice: what an alert, a group or a source
// event did is told from the attempt that committed, not summed over the
// attempts.
func TestOutcomesOfAChangeThatRanTwice(t *testing.T) {
	e := newEnv(t, bot.ServiceConfig{})
	svc := bot.NewService(rerunningStore{DB: e.db}, bot.ServiceConfig{Now: e.clock.Now})

	group, err := svc.IngestAlertGroup(e.ctx(), bot.AlertGroup{Source: "alertmanager", DedupKey: "g1", Alerts: []bot.Alert{
		{Title: "5xx", Severity: bot.SEV2, Firing: true, EventID: "a"},
		{Title: "latency", Severity: bot.SEV2, Firing: true, EventID: "b"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if !group.Opened || group.Recorded != 2 {
		t.Errorf("group: opened %v, recorded %d; want opened, 2 recorded", group.Opened, group.Recorded)
	}

	// The delivery marked by the discarded attempt was rolled back with it:
	// the committed attempt is the delivery's first, not a duplicate.
	src, err := svc.RecordSourceEvent(e.ctx(), bot.SourceEvent{Source: "pagerduty", DeliveryID: "d1", DedupKey: "P1",
		Trigger: &bot.Alert{Source: "pagerduty", DedupKey: "P1", EventID: "e1", Title: "down", Severity: bot.SEV1, Firing: true}})
	if err != nil {
		t.Fatal(err)
	}
	if src.Duplicate || src.Ignored != "" || !src.Recorded || !src.Opened {
		t.Errorf("source event: %+v; want opened and recorded, not a duplicate", src)
	}
}

// TestChatEventAppliedByTheCommittedAttempt: a chat event whose first
// attempt recorded it, and whose committed attempt found the delivery
// already marked by a concurrent redelivery, reports that it did nothing.
func TestChatEventAppliedByTheCommittedAttempt(t *testing.T) {
	e := newEnv(t, bot.ServiceConfig{})
	inc := e.opened("checkout down")
	ref := bot.ChatEventRef{Source: "slack", ID: "Ev1"}
	redelivered := func(ctx context.Context) error {
		return e.db.Update(ctx, func(tx bot.Tx) error {
			_, err := tx.MarkChatEvent(ref.Source, ref.ID, e.clock.Now(), e.clock.Now().Add(-time.Hour))
			return err
		})
	}
	svc := bot.NewService(rerunningStore{DB: e.db, between: redelivered}, bot.ServiceConfig{Now: e.clock.Now})
	applied, err := svc.RecordResponderJoined(e.ctx(), ref, inc.ChannelID, "U3", start)
	if err != nil {
		t.Fatal(err)
	}
	if applied {
		t.Error("reported applied, but the committed attempt found the delivery marked and recorded nothing")
	}
	if n := count(e.timeline(inc.ID), bot.KindResponderJoined); n != 0 {
		t.Errorf("%d joins recorded, want 0", n)
	}
}
