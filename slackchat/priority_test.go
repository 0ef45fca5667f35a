package slackchat_test

import (
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sitrep-io/sitrep/bot"
	"github.com/sitrep-io/sitrep/internal/slackfake"
)

// declaredChannelGoal is how soon a declared incident's channel must exist
// while an alert storm's channels queue behind Slack's Tier 2 (issue 14,
// item 2).
const declaredChannelGoal = 10 * time.Second

// TestDeclaredIncidentBeforeStormChannels: 50 alert-opened incidents queue
// their channels behind conversations.create's Tier 2 limit, enforced by
// the fake (429 + Retry-After beyond it); 20 s into the storm a person
// declares a SEV1. Its channel is created within 10 s (simulated time), its
// card and invitation right after, while the storm's channels keep coming
// and all 50 are made, none twice, without a 429.
func TestDeclaredIncidentBeforeStormChannels(t *testing.T) {
	w := &world{t: t, path: filepath.Join(t.TempDir(), "sitrep.db"), clock: newClock()}
	w.srv = slackfake.New(t, slackfake.WithTiers(w.clock.Now, slackfake.SlackTiers))
	w.srv.AddUser(slackfake.User{ID: "U1", Name: "alice"})
	w.broadcast = w.srv.AddChannel(slackfake.Channel{Name: "incidents"})
	w.client, w.stamps = stampedClient(t, w.srv, w.clock)
	w.open()
	// sitrep serve's retry policy, with one worker: Drain runs rounds of
	// Workers entries and waits for the whole round, so with several the
	// declared incident's entries would wait for the slowest storm entry of
	// each round, which Run's free-running workers do not. (Workers holding
	// paced slots give them up to a higher priority: TestPaceGivesSlotToHigherPriority.)
	disp := bot.NewDispatcher(w.db, bot.DispatcherOptions{Workers: 1, Now: w.clock.Now, OnFailure: w.svc.RecordDeliveryFailure})
	if err := bot.Wire(w.svc, disp, bot.ChatOps(w.client)); err != nil {
		t.Fatal(err)
	}

	const storm = 50
	for i := range storm {
		if _, err := w.svc.IngestAlert(t.Context(), bot.Alert{Source: "alertmanager", DedupKey: fmt.Sprintf("storm-%d", i),
			Title: fmt.Sprintf("Storm %d", i), Severity: bot.SEV2, Firing: true}); err != nil {
			t.Fatal(err)
		}
	}
	start := w.clock.Now()
	declareAt := start.Add(20 * time.Second)
	var (
		once       sync.Once
		declared   bot.Incident
		declaredAt time.Time
	)
	w.clock.afterSleep = func(now time.Time) {
		if now.Before(declareAt) {
			return
		}
		once.Do(func() {
			inc, err := w.svc.Declare(t.Context(), bot.DeclareRequest{Actor: "U1", Title: "Checkout down", Severity: bot.SEV1})
			if err != nil {
				t.Errorf("Declare: %v", err)
			}
			declared, declaredAt = inc, now
		})
	}
	w.settleThrough(disp, time.Time{})
	if declared.ID == 0 {
		t.Fatal("the storm was over before the declaration; make it longer")
	}
	inc := w.incident(declared.ID)

	creates, at := w.srv.CallsTo("conversations.create"), w.stamps.times("conversations.create")
	var createdAt time.Time
	made, before := 0, 0
	for i, c := range creates {
		if c.Status == 429 {
			t.Errorf("conversations.create %d was answered 429: sitrep's pacing went over Tier 2", i)
			continue
		}
		if strings.Contains(c.Params.Get("name"), "checkout-down") {
			createdAt = at[i]
			continue
		}
		made++
		if createdAt.IsZero() && !at[i].Before(declaredAt) {
			before++ // a storm channel made after the declaration, before its channel
		}
	}
	if createdAt.IsZero() || inc.ChannelID == "" {
		t.Fatalf("the declared incident's channel was not created (calls: %d)", len(creates))
	}
	if made != storm {
		t.Errorf("%d storm channels created, want %d", made, storm)
	}
	if wait := createdAt.Sub(declaredAt); wait > declaredChannelGoal {
		t.Errorf("the declared SEV1's channel was created %s after the declaration (%d storm channels went first), want within %s", wait, before, declaredChannelGoal)
	}
	t.Logf("declared at +%s, its channel at +%s (%d storm channels after the declaration went before it)", declaredAt.Sub(start), createdAt.Sub(start), before)

	follow := func(method string, match func(c slackfake.Call) bool) time.Time {
		calls, at := w.srv.CallsTo(method), w.stamps.times(method)
		for i, c := range calls {
			if c.Fault == nil && c.Status != 429 && match(c) {
				return at[i]
			}
		}
		t.Fatalf("no %s for the declared incident", method)
		return time.Time{}
	}
	inChannel := func(c slackfake.Call) bool { return c.Params.Get("channel") == inc.ChannelID }
	cardAt := follow("chat.postMessage", inChannel)
	inviteAt := follow("conversations.invite", inChannel)
	for name, a := range map[string]time.Time{"card": cardAt, "invitation": inviteAt} {
		if d := a.Sub(createdAt); d > 2*time.Second {
			t.Errorf("the declared incident's %s went out %s after its channel, want at once (≤ 2 s)", name, d)
		}
	}
	w.requireNoFailures()
}
