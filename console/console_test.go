package console_test

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sitrep-io/sitrep/bot"
	"github.com/sitrep-io/sitrep/console"
	"github.com/sitrep-io/sitrep/store"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

type rig struct {
	db   *store.DB
	svc  *bot.Service
	disp *bot.Dispatcher
	out  *lockedBuffer
	repl *console.REPL
}

func newRig(t *testing.T) *rig {
	t.Helper()
	db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "sitrep.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	out := &lockedBuffer{}
	clock := func() time.Time { return time.Date(2020, 10, 8, 0, 6, 0, 0, time.UTC) }
	chat := console.NewChat(out, clock)
	svc := bot.NewService(db, bot.ServiceConfig{BroadcastChannel: "incidents", Now: clock})
	disp := bot.NewDispatcher(db, bot.DispatcherOptions{Now: clock})
	if err := bot.Wire(svc, disp, bot.ChatOps(chat)); err != nil {
		t.Fatal(err)
	}
	return &rig{db: db, svc: svc, disp: disp, out: out, repl: &console.REPL{Exec: svc, Out: chat, User: "ana"}}
}

func (r *rig) say(t *testing.T, lines ...string) string {
	t.Helper()
	before := len(r.out.String())
	for _, l := range lines {
		r.repl.Handle(context.Background(), l)
	}
	if err := r.disp.Drain(context.Background()); err != nil {
		t.Fatal(err)
	}
	return r.out.String()[before:]
}

func TestConsole_DeclareAndRun(t *testing.T) {
	r := newRig(t)
	got := r.say(t, "/incident declare Checkout is failing")
	for _, want := range []string{
		"> Declared INC-1 SEV3: Checkout is failing",
		"#inc-1-checkout-is-failing  sitrep created channel #inc-1-checkout-is-failing",
		"INC-1 SEV3: Checkout is failing",
		"[I'm the commander]",
		"pinned message",
		"#incidents  INC-1 SEV3 opened in #inc-1-checkout-is-failing",
		"invited @ana",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("transcript lacks %q:\n%s", want, got)
		}
	}
	got = r.say(t, "/incident sev 1", "/incident update Payments down; rolling back")
	for _, want := range []string{"@ana severity SEV3 → SEV1", "Status update (SEV1, investigating) from @ana: Payments down; rolling back",
		"#incidents  INC-1 Checkout is failing (SEV1, investigating): Payments down"} {
		if !strings.Contains(got, want) {
			t.Errorf("transcript lacks %q:\n%s", want, got)
		}
	}
	// Mentions in Slack's escaped form are accepted and shown plainly.
	got = r.say(t, "/incident lead <@U123|bob>")
	if !strings.Contains(got, "@ana made @U123 commander") {
		t.Errorf("lead: %s", got)
	}
	got = r.say(t, "/incident timeline")
	if !strings.Contains(got, "> Timeline of INC-1") || !strings.Contains(got, "severity_changed") {
		t.Errorf("timeline: %s", got)
	}
}

func TestConsole_TargetsAndErrors(t *testing.T) {
	r := newRig(t)
	if got := r.say(t, "/incident status identified"); !strings.Contains(got, "! this is not an incident channel") {
		t.Errorf("with no incident: %s", got)
	}
	r.say(t, "/incident declare First", "/incident declare Second")
	// The last declared is current; INC-<n> picks another.
	r.say(t, "/incident INC-1 sev 2")
	inc1, _ := r.db.Incident(context.Background(), 1)
	inc2, _ := r.db.Incident(context.Background(), 2)
	if inc1.Severity != bot.SEV2 || inc2.Severity != bot.SEV3 {
		t.Errorf("INC-1 %s INC-2 %s: the INC- prefix must pick the incident", inc1.Severity, inc2.Severity)
	}
	if got := r.say(t, "/incident frobnicate"); !strings.Contains(got, `! unknown command "frobnicate"`) || !strings.Contains(got, "declare") {
		t.Errorf("unknown command: %s", got)
	}
	if got := r.say(t, "/incident sev 9"); !strings.Contains(got, "Usage: /incident sev <1-4>") {
		t.Errorf("bad argument: %s", got)
	}
	if got := r.say(t, "/incident INC-x status resolved"); !strings.Contains(got, "is not an incident id") {
		t.Errorf("bad id: %s", got)
	}
	events, _ := r.db.Timeline(context.Background(), 1)
	for _, ev := range events {
		if ev.Kind == bot.KindStatusChanged {
			t.Errorf("a rejected command changed the status: %v", ev)
		}
	}
}

func TestConsole_NewestOpenIncidentIsDefault(t *testing.T) {
	r := newRig(t)
	if _, err := r.svc.IngestAlert(context.Background(), bot.Alert{Source: "webhook", Title: "disk full", Firing: true}); err != nil {
		t.Fatal(err)
	}
	got := r.say(t, "ack")
	if !strings.Contains(got, "> INC-1: SEV3, investigating") {
		t.Errorf("ack of the alert's incident: %s", got)
	}
}

func TestConsole_RunReadsUntilEOF(t *testing.T) {
	r := newRig(t)
	in := strings.NewReader("/incident declare From stdin\n\n/incident note hello\n")
	if err := r.repl.Run(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	events, err := r.db.Timeline(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	if last := events[len(events)-1]; last.Kind != bot.KindNote || last.Text != "hello" || last.Actor != "ana" {
		t.Errorf("last event %+v", last)
	}
}

func TestConsole_ChannelNameTaken(t *testing.T) {
	var out bytes.Buffer
	chat := console.NewChat(&out, nil)
	if _, err := chat.CreateChannel(context.Background(), bot.ChannelSpec{Name: "inc-1-x"}); err != nil {
		t.Fatal(err)
	}
	_, err := chat.CreateChannel(context.Background(), bot.ChannelSpec{Name: "inc-1-x"})
	if bot.ErrorCode(err) != bot.ECONFLICT {
		t.Errorf("second create: %v, want ECONFLICT", err)
	}
}

// TestConsole_UpdateDraftAndRepeat: "/incident update" without text prints
// the draft and how to post it; a repeated update is refused with how to
// post it anyway.
func TestConsole_UpdateDraftAndRepeat(t *testing.T) {
	r := newRig(t)
	r.say(t, "/incident declare Checkout is failing", "/incident note --update rolled back the deploy")
	got := r.say(t, "/incident update")
	for _, want := range []string{"> Draft status update for INC-1, from its timeline:", "> rolled back the deploy. (@ana, 00:06)",
		"> Post it, edited, with /incident update <text>"} {
		if !strings.Contains(got, want) {
			t.Errorf("draft lacks %q:\n%s", want, got)
		}
	}
	r.say(t, "/incident update Rolled back the deploy.")
	got = r.say(t, "/incident update rolled back the deploy")
	if !strings.Contains(got, "repeats the status update of 00:06") || !strings.Contains(got, "--anyway") || strings.Contains(got, "Status update (") {
		t.Errorf("repeat: %s", got)
	}
	if got = r.say(t, "/incident update --anyway rolled back the deploy"); !strings.Contains(got, "Status update (SEV3, investigating) from @ana: rolled back the deploy") {
		t.Errorf("--anyway: %s", got)
	}
}
