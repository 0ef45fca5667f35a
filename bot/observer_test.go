package bot_test

import (
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sitrep-io/sitrep/bot"
)

// recordingObserver keeps what a bot.Observer and a bot.DeliveryObserver
// are told.
type recordingObserver struct {
	mu         sync.Mutex
	acked      []time.Duration
	resolved   []time.Duration
	runs       []string // runbook:state
	deliveries []string // op:outcome
}

func (o *recordingObserver) IncidentAcknowledged(_ bot.Incident, after time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.acked = append(o.acked, after)
}

func (o *recordingObserver) IncidentResolved(_ bot.Incident, after time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.resolved = append(o.resolved, after)
}

func (o *recordingObserver) RunbookRunFinished(r bot.RunbookRun) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.runs = append(o.runs, r.Runbook+":"+string(r.State))
}

func (o *recordingObserver) delivered(op string, outcome bot.DeliveryOutcome) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.deliveries = append(o.deliveries, op+":"+string(outcome))
}

// TestObserverToldAfterCommit: the observer hears of an acknowledgement and
// a resolution once each, with the time since the alert fired (or the
// declaration), and never of a change that was rolled back. A resolve that
// skips the acknowledgement acknowledges too; an incident declared by hand
// starts acknowledged, so only its resolution is observed.
func TestObserverToldAfterCommit(t *testing.T) {
	obs := &recordingObserver{}
	e := newEnv(t, bot.ServiceConfig{Observer: obs})
	failResolve := true
	e.hook(func(_ bot.Tx, _ bot.Incident, ev bot.Event) error {
		if failResolve && ev.Kind == bot.KindStatusChanged && ev.Data["to"] == string(bot.StatusResolved) {
			return errors.New("storage failed")
		}
		return nil
	})
	e.alert(bot.Alert{DedupKey: "checkout", Firing: true, OccurredAt: start.Add(-time.Minute)})
	inc := e.incidents()[0]
	e.clock.Advance(2 * time.Minute)
	if _, err := e.svc.Acknowledge(e.ctx(), "U1", inc.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Acknowledge(e.ctx(), "U1", inc.ID); err == nil {
		t.Fatal("a second acknowledgement was accepted")
	}
	e.clock.Advance(7 * time.Minute)
	if _, err := e.svc.Resolve(e.ctx(), "U1", inc.ID, ""); err == nil || !strings.Contains(err.Error(), "storage failed") {
		t.Fatalf("Resolve with a failing hook: %v, want the failure", err)
	}
	if len(obs.resolved) != 0 {
		t.Fatalf("a rolled-back resolve was observed: %v", obs.resolved)
	}
	failResolve = false
	if _, err := e.svc.Resolve(e.ctx(), "U1", inc.ID, ""); err != nil {
		t.Fatal(err)
	}
	e.alert(bot.Alert{DedupKey: "search", Firing: true})
	skipped := e.incidents()[0]
	e.clock.Advance(time.Minute)
	if _, err := e.svc.Resolve(e.ctx(), "U1", skipped.ID, ""); err != nil {
		t.Fatal(err)
	}
	declared := e.declare("disk full")
	e.clock.Advance(5 * time.Minute)
	if _, err := e.svc.Resolve(e.ctx(), "U1", declared.ID, ""); err != nil {
		t.Fatal(err)
	}
	if want := []time.Duration{3 * time.Minute, time.Minute}; !reflect.DeepEqual(obs.acked, want) {
		t.Errorf("acknowledgements observed %v, want %v", obs.acked, want)
	}
	if want := []time.Duration{10 * time.Minute, time.Minute, 5 * time.Minute}; !reflect.DeepEqual(obs.resolved, want) {
		t.Errorf("resolutions observed %v, want %v", obs.resolved, want)
	}
}

// TestDeliveryObserver: every attempt's recorded outcome reaches the
// dispatcher's observer, by op.
func TestDeliveryObserver(t *testing.T) {
	e := newEnv(t, bot.ServiceConfig{})
	obs := &recordingObserver{}
	disp := bot.NewDispatcher(e.db, bot.DispatcherOptions{Now: e.clock.Now, BaseBackoff: baseBackoff, MaxBackoff: maxBackoff,
		OnFailure: e.svc.RecordDeliveryFailure, Observe: obs.delivered})
	if err := bot.Wire(e.svc, disp, bot.ChatOps(e.chat)); err != nil {
		t.Fatal(err)
	}
	fails := map[string]error{"create": bot.RateLimited(errors.New("ratelimited"), time.Second)}
	e.chat.setFail(func(c chatCall) error {
		err := fails[c.Method]
		delete(fails, c.Method)
		return err
	})
	e.declare("checkout down")
	if err := disp.Drain(e.ctx()); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Minute)
	if err := disp.Drain(e.ctx()); err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	for _, d := range obs.deliveries {
		counts[d]++
	}
	if counts[bot.OpCreateChannel+":rate_limited"] != 1 || counts[bot.OpCreateChannel+":delivered"] != 1 {
		t.Errorf("observed %v, want the channel held back once, then delivered", obs.deliveries)
	}
	if got, want := len(obs.deliveries), len(e.deliveries(bot.DeliveryDelivered))+1; got != want {
		t.Errorf("observed %d outcomes %v, want one per delivered entry plus the deferral (%d)", got, obs.deliveries, want)
	}
}
