package bot_test

import (
	"testing"

	"github.com/sitrep-io/sitrep/bot"
)

// TestDeliveryPriorityByOrigin: what a person causes is queued above what
// automation causes, the more severe first; what a delivery queues (a
// channel's creation queueing its pin) keeps the delivery's priority.
func TestDeliveryPriorityByOrigin(t *testing.T) {
	e := newEnv(t, bot.ServiceConfig{})
	alert, err := e.svc.IngestAlert(e.ctx(), bot.Alert{Source: "webhook", DedupKey: "disk", Title: "Disk full", Severity: bot.SEV1, Firing: true})
	if err != nil {
		t.Fatal(err)
	}
	declared, err := e.svc.Declare(e.ctx(), bot.DeclareRequest{Actor: "U1", Title: "Checkout down", Severity: bot.SEV2})
	if err != nil {
		t.Fatal(err)
	}
	byIncident := func() map[int64][]bot.Delivery {
		ds, err := e.db.Deliveries(e.ctx())
		if err != nil {
			t.Fatal(err)
		}
		out := map[int64][]bot.Delivery{}
		for _, d := range ds {
			out[d.IncidentID] = append(out[d.IncidentID], d)
		}
		return out
	}
	queued := byIncident()
	if len(queued[alert.Incident.ID]) == 0 || len(queued[declared.ID]) == 0 {
		t.Fatalf("nothing queued: %+v", queued)
	}
	for _, d := range queued[alert.Incident.ID] {
		if want := bot.DeliveryPriority(false, bot.SEV1); d.Priority != want {
			t.Errorf("alert-opened SEV1 %s: priority %d, want %d (automation)", d.Op, d.Priority, want)
		}
	}
	for _, d := range queued[declared.ID] {
		if want := bot.DeliveryPriority(true, bot.SEV2); d.Priority != want {
			t.Errorf("declared SEV2 %s: priority %d, want %d (a person's)", d.Op, d.Priority, want)
		}
	}
	if bot.DeliveryPriority(true, bot.SEV4) <= bot.DeliveryPriority(false, bot.SEV1) ||
		bot.DeliveryPriority(true, bot.SEV1) <= bot.DeliveryPriority(true, bot.SEV2) {
		t.Error("DeliveryPriority: a person's SEV4 must outrank automation's SEV1, and SEV1 outrank SEV2")
	}

	e.drain()
	pins := 0
	for id, ds := range byIncident() {
		for _, d := range ds {
			if d.Op == bot.OpPin {
				pins++
			}
			if d.Op == bot.OpPin && d.Priority != queued[id][0].Priority {
				t.Errorf("incident %d: the pin queued by the channel's delivery has priority %d, want the delivery's %d", id, d.Priority, queued[id][0].Priority)
			}
		}
	}
	if pins != 2 {
		t.Fatalf("%d pins queued by the channels' deliveries, want 2", pins)
	}
	// A person's status update on the alert-opened incident is a person's.
	if _, err := e.svc.PostUpdate(e.ctx(), "U2", alert.Incident.ID, "Rolling back"); err != nil {
		t.Fatal(err)
	}
	ds := byIncident()[alert.Incident.ID]
	if last := ds[len(ds)-1]; last.Priority != bot.DeliveryPriority(true, bot.SEV1) {
		t.Errorf("a person's update on an alert-opened incident: %s priority %d, want %d", last.Op, last.Priority, bot.DeliveryPriority(true, bot.SEV1))
	}
}
