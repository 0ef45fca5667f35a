package bot_test

import (
	"context"
	"testing"
	"time"

	"github.com/sitrep-io/sitrep/bot"
	"github.com/sitrep-io/sitrep/internal/fsfault"
)

// TestDispatcherRecoversWhenStorageDoes (issue 10 item 11): started on a
// database file that is read-only, the dispatcher cannot even recover the
// entries a dead process left in flight. It must keep trying, not stop for
// good, and deliver everything by itself once the file is writable again.
func TestDispatcherRecoversWhenStorageDoes(t *testing.T) {
	e := newEnv(t, bot.ServiceConfig{})
	inc := e.declare("Checkout is down")
	if err := e.db.Close(); err != nil {
		t.Fatal(err)
	}
	writable := fsfault.ReadOnlyFile(t, e.path)
	e.open()

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	stopped := make(chan error, 1)
	go func() { stopped <- e.disp.Run(ctx) }()
	select {
	case err := <-stopped:
		t.Fatalf("the dispatcher stopped on a read-only database (%v); it must keep retrying", err)
	case <-time.After(300 * time.Millisecond): // several attempts at the backoff of the tests
	}
	if got := e.incident(inc.ID); got.ChannelID != "" {
		t.Fatalf("a channel was recorded in a read-only database: %+v", got)
	}

	writable()
	deadline := time.Now().Add(20 * time.Second)
	for e.incident(inc.ID).CardTS == "" {
		if time.Now().After(deadline) {
			t.Fatalf("nothing delivered after the file became writable; unfinished: %v", opNames(t, e.unfinished()))
		}
		select {
		case err := <-stopped:
			t.Fatalf("the dispatcher stopped: %v", err)
		case <-time.After(20 * time.Millisecond):
		}
	}
	cancel()
	if err := <-stopped; err != nil {
		t.Errorf("Run after shutdown: %v", err)
	}
	if creates := e.chat.Calls("create"); len(creates) != 1 {
		t.Errorf("%d channels created, want one", len(creates))
	}
}
