package bot_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sitrep-io/sitrep/bot"
	"github.com/sitrep-io/sitrep/store"
)

// unwired is a service and dispatcher on a fresh database with nothing
// wired yet.
func unwired(t *testing.T) (*bot.Service, *bot.Dispatcher, *store.DB) {
	t.Helper()
	db, err := store.Open(t.Context(), filepath.Join(t.TempDir(), "sitrep.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return bot.NewService(db, bot.ServiceConfig{}), bot.NewDispatcher(db, bot.DispatcherOptions{}), db
}

// TestWireRefusesAnOpWithoutHandler: a wiring that leaves out the chat
// adapter's ops (which deliver what reminders and the core enqueue) does
// not start: the error names each op and the feature that enqueues it.
// Before, such a wiring started and every archive failed for good.
func TestWireRefusesAnOpWithoutHandler(t *testing.T) {
	svc, disp, _ := unwired(t)
	err := bot.Wire(svc, disp, bot.NewReminders(bot.DefaultReminderConfig()))
	if err == nil {
		t.Fatal("Wire without the chat ops succeeded")
	}
	for _, want := range []string{`"chat.archive", enqueued by reminders,`, `"chat.create_channel", enqueued by core,`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
	if strings.Contains(err.Error(), bot.OpReminder) {
		t.Errorf("error %q names an op reminders deliver themselves", err)
	}
}

// TestWireNamesAFeaturesUndeliveredOp: a feature that declares an op it
// enqueues but that nothing delivers is refused by name, and wiring the
// feature that delivers it, later, completes the wiring.
func TestWireNamesAFeaturesUndeliveredOp(t *testing.T) {
	svc, disp, _ := unwired(t)
	chat := newChat()
	enqueuer := bot.NewFeature("widgets", func(r *bot.Registry) { r.Enqueues("widget.spin") })
	err := bot.Wire(svc, disp, bot.ChatOps(chat), enqueuer)
	if err == nil || !strings.Contains(err.Error(), `"widget.spin", enqueued by widgets,`) {
		t.Fatalf("Wire = %v, want widget.spin named with widgets", err)
	}
	spinner := bot.NewFeature("spinner", func(r *bot.Registry) {
		r.Deliver("widget.spin", func(context.Context, bot.Delivery) (any, error) { return nil, nil })
	})
	if err := bot.Wire(svc, disp, spinner); err != nil {
		t.Fatalf("Wire with the spinner: %v", err)
	}
}

// TestWireRefusesTwoHandlersOfAnOp: an op has one handler; a second
// feature delivering it is a wiring error naming both.
func TestWireRefusesTwoHandlersOfAnOp(t *testing.T) {
	svc, disp, _ := unwired(t)
	chat := newChat()
	other := bot.NewFeature("second chat", func(r *bot.Registry) {
		r.Deliver(bot.OpPost, func(context.Context, bot.Delivery) (any, error) { return nil, nil })
	})
	err := bot.Wire(svc, disp, bot.ChatOps(chat), other)
	if err == nil || !strings.Contains(err.Error(), `"chat.post" is delivered by both chat and second chat`) {
		t.Fatalf("Wire = %v, want chat.post named with both features", err)
	}
}

// TestWireEveryBotFeature: the core with every feature bot provides
// wires; each feature's declared ops have their handlers.
func TestWireEveryBotFeature(t *testing.T) {
	svc, disp, _ := unwired(t)
	chat := newChat()
	err := bot.Wire(svc, disp, bot.ChatOps(chat), bot.PinnedMessages(&fakeFetcher{}),
		bot.Alerting(bot.AlertingConfig{}, chat), bot.PagerWriteBack(nil, nil),
		bot.NewReminders(bot.DefaultReminderConfig()),
		bot.NewPostmortems(bot.PostmortemConfig{Chat: chat}),
		bot.NewStatusPages(bot.StatusPageConfig{}))
	if err != nil {
		t.Fatal(err)
	}
}

// TestWiredServiceRefusesAnUndeclaredOp: once wired, a change that
// enqueues an op no feature declared fails and commits nothing, instead
// of queuing a delivery that the start-up check never vouched for.
func TestWiredServiceRefusesAnUndeclaredOp(t *testing.T) {
	svc, disp, db := unwired(t)
	if err := bot.Wire(svc, disp, bot.ChatOps(newChat())); err != nil {
		t.Fatal(err)
	}
	inc, err := svc.Declare(t.Context(), bot.DeclareRequest{Actor: "U1", Title: "x"})
	if err != nil {
		t.Fatal(err)
	}
	d, err := bot.NewDelivery("widget:1", "widget.spin", inc.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = svc.Update(t.Context(), func(tx bot.Tx) error { return tx.Enqueue(d) })
	if err == nil || !strings.Contains(err.Error(), `"widget.spin"`) {
		t.Fatalf("Update = %v, want the undeclared op refused by name", err)
	}
	entries, err := db.Deliveries(t.Context(), bot.DeliveryPending)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Op == "widget.spin" {
			t.Errorf("the undeclared op was queued: %+v", e)
		}
	}
}
