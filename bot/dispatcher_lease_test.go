package bot_test

import (
	"context"
	"testing"
	"time"

	"github.com/sitrep-io/sitrep/bot"
)

// runShared runs a Shared dispatcher (a replica's) on e's database until
// done reports true or a generous deadline passes.
func runShared(t *testing.T, e *env, done func() bool) {
	t.Helper()
	disp := bot.NewDispatcher(e.db, bot.DispatcherOptions{Workers: 4, Now: e.clock.Now, Shared: true,
		OnFailure: e.svc.RecordDeliveryFailure})
	if err := bot.Wire(e.svc, disp, bot.ChatOps(e.chat)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(e.ctx())
	stopped := make(chan error, 1)
	go func() { stopped <- disp.Run(ctx) }()
	deadline := time.Now().Add(30 * time.Second)
	for !done() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond) // polling, with a generous deadline
	}
	cancel()
	if err := <-stopped; err != nil {
		t.Errorf("Run: %v", err)
	}
}

// TestSharedDispatcherLeavesLiveClaims: a replica starting on a shared
// database does not take the entries another, live, replica is delivering
// (Run without Shared recovers them at start and delivers them again).
func TestSharedDispatcherLeavesLiveClaims(t *testing.T) {
	e := newEnv(t, bot.ServiceConfig{})
	e.declare("a")
	live, err := e.db.ClaimDeliveries(e.ctx(), e.clock.Now(), 10) // the other replica, still delivering
	if err != nil || len(live) == 0 {
		t.Fatalf("claimed %d (%v), want a's channel creation", len(live), err)
	}
	e.declare("b")
	runShared(t, e, func() bool { return len(e.chat.Calls("pin")) >= 1 })
	if got := len(e.chat.Calls("create")); got != 1 {
		t.Errorf("%d channels created, want 1 (b's; a's is the live replica's)", got)
	}
	state := map[int64]bot.Delivery{}
	for _, d := range e.deliveries() {
		state[d.ID] = d
	}
	for _, d := range live {
		if got := state[d.ID]; got.State != bot.DeliverySending || got.Uncertain {
			t.Errorf("live replica's entry %d %s is %s uncertain=%v, want still sending", d.ID, d.Op, got.State, got.Uncertain)
		}
	}
}

// TestSharedDispatcherTakesOverDeadClaims: entries a replica that died had
// claimed are delivered by another, each once, when their lease lapses,
// without anyone calling RecoverDeliveries.
func TestSharedDispatcherTakesOverDeadClaims(t *testing.T) {
	e := newEnv(t, bot.ServiceConfig{})
	for _, title := range []string{"a", "b", "c"} {
		e.declare(title)
	}
	e.db.SetDeliveryLease(time.Millisecond)
	claimed, err := e.db.ClaimDeliveries(e.ctx(), e.clock.Now(), 10)
	if err != nil || len(claimed) != 3 {
		t.Fatalf("claimed %d (%v), want the 3 channel creations", len(claimed), err)
	}
	e.reopen() // the replica died with them in flight
	runShared(t, e, func() bool { return len(e.chat.Calls("pin")) >= 3 })
	if got := len(e.chat.Calls("create")); got != 3 {
		t.Errorf("%d channels created, want 3 (one each)", got)
	}
	if n := len(e.unfinished()); n != 0 {
		t.Errorf("%d entries unfinished, want none", n)
	}
}
