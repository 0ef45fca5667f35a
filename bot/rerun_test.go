package bot_test

import (
	"context"
	"errors"
	"testing"

	"github.com/sitrep-io/sitrep/bot"
	"github.com/sitrep-io/sitrep/store"
)

// rerunningStore runs every change twice, the first attempt discarded, as a
// store does after a change lost to a concurrent one (bot.Store.Update: fn
// may run again).
type rerunningStore struct{ *store.DB }

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
	return s.DB.Update(ctx, fn)
}

// TestOutcomesOfAChangeThatRanTwice: what an alert, a group or a source
// event did is told from the attempt that committed, not summed over the
// attempts.
func TestOutcomesOfAChangeThatRanTwice(t *testing.T) {
	e := newEnv(t, bot.ServiceConfig{})
	svc := bot.NewService(rerunningStore{e.db}, bot.ServiceConfig{Now: e.clock.Now})

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

	// The first attempt finds no incident and ignores the alert; a second
	// attempt that records it must not say it was ignored.
	src, err := svc.RecordSourceEvent(e.ctx(), bot.SourceEvent{Source: "pagerduty", DeliveryID: "d1", DedupKey: "P1",
		Trigger: &bot.Alert{Source: "pagerduty", DedupKey: "P1", EventID: "e1", Title: "down", Severity: bot.SEV1, Firing: true}})
	if err != nil {
		t.Fatal(err)
	}
	if src.Duplicate || src.Ignored != "" || !src.Recorded || !src.Opened {
		t.Errorf("source event: %+v; want opened and recorded, not a duplicate", src)
	}
}
