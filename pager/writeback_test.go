package pager_test

import (
	"context"
	"encoding/json"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sitrep-io/sitrep/bot"
	"github.com/sitrep-io/sitrep/console"
	"github.com/sitrep-io/sitrep/internal/pdfake"
	"github.com/sitrep-io/sitrep/internal/testclock"
	"github.com/sitrep-io/sitrep/store"
)

// directory is a bot.Directory that knows people by email.
type directory map[string]bot.ChatUser

func (d directory) User(_ context.Context, id string) (bot.ChatUser, error) {
	for _, u := range d {
		if u.ID == id {
			return u, nil
		}
	}
	return bot.ChatUser{}, bot.Errorf(bot.ENOTFOUND, "no user %s", id)
}

func (d directory) UserByEmail(_ context.Context, email string) (bot.ChatUser, error) {
	if u, ok := d[email]; ok {
		return u, nil
	}
	return bot.ChatUser{}, bot.Errorf(bot.ENOTFOUND, "no user with email %s", email)
}

func (d directory) GroupMembers(context.Context, string) ([]string, error) { return nil, nil }

// world is sitrep (real store, service, dispatcher, console chat) wired to
// a fake PagerDuty through the real go-pagerduty client.
type world struct {
	t     *testing.T
	clock *testclock.Clock
	db    *store.DB
	svc   *bot.Service
	disp  *bot.Dispatcher
	pd    *pdfake.Server
}

func newWorld(t *testing.T, dir bot.Directory) *world {
	t.Helper()
	w := &world{t: t, clock: testclock.New(time.Now().UTC().Truncate(time.Second)), pd: pdfake.New(t)}
	db, err := store.Open(t.Context(), filepath.Join(t.TempDir(), "sitrep.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	w.db = db
	w.svc = bot.NewService(db, bot.ServiceConfig{Now: w.clock.Now})
	w.disp = bot.NewDispatcher(db, bot.DispatcherOptions{Now: w.clock.Now, BaseBackoff: time.Second, MaxBackoff: 10 * time.Second,
		OnFailure: w.svc.RecordDeliveryFailure})
	chat := console.NewChat(io.Discard, w.clock.Now)
	if err := bot.Wire(w.svc, w.disp, bot.ChatOps(chat), bot.Alerting(bot.AlertingConfig{}, chat),
		bot.PagerWriteBack(newClient(t, w.pd), dir)); err != nil {
		t.Fatal(err)
	}
	return w
}

func (w *world) drain() {
	w.t.Helper()
	if err := w.disp.Drain(w.t.Context()); err != nil {
		w.t.Fatal(err)
	}
}

// trigger records PagerDuty's incident.triggered for PagerDuty incident id.
func (w *world) trigger(id string) bot.Incident {
	w.t.Helper()
	w.pd.AddIncident(id, pdfake.StatusTriggered, "PEP1")
	out, err := w.svc.RecordSourceEvent(w.t.Context(), bot.SourceEvent{Source: bot.PagerSource, DeliveryID: "d-" + id,
		Trigger: &bot.Alert{Source: bot.PagerSource, DedupKey: id, EventID: "e-" + id, Title: "Platform API returning 500",
			Severity: bot.SEV1, Firing: true, Labels: map[string]string{bot.LabelEscalationPolicy: "PEP1"}}})
	if err != nil || !out.Opened {
		w.t.Fatalf("trigger: %+v %v", out, err)
	}
	return out.Incident
}

func (w *world) deliveries(op string) []bot.Delivery {
	w.t.Helper()
	ds, err := w.db.Deliveries(w.t.Context())
	if err != nil {
		w.t.Fatal(err)
	}
	return slices.DeleteFunc(ds, func(d bot.Delivery) bool { return d.Op != op })
}

func (w *world) timelineText(id int64) string {
	w.t.Helper()
	evs, err := w.db.Timeline(w.t.Context(), id)
	if err != nil {
		w.t.Fatal(err)
	}
	var lines []string
	for _, ev := range evs {
		lines = append(lines, string(ev.Kind)+" "+ev.Text)
	}
	return strings.Join(lines, "\n")
}

func TestResponders_FoundAndNotFound(t *testing.T) {
	w := newWorld(t, directory{"ada@example.com": {ID: "UADA", Name: "ada", Email: "ada@example.com"}})
	w.pd.AddOnCall("PEP1", pdfake.User{ID: "PU1", Name: "Ada", Email: "ada@example.com"}, 1)
	w.pd.AddOnCall("PEP1", pdfake.User{ID: "PU2", Name: "Bob", Email: "bob@example.com"}, 2)
	w.pd.AddOnCall("PEP1", pdfake.User{ID: "PU1", Name: "Ada", Email: "ada@example.com"}, 2) // on two levels: once
	w.pd.Fail(pdfake.RouteListOnCalls, pdfake.ServerError(502))                              // PagerDuty hiccups first
	inc := w.trigger("PINC1")
	w.drain()
	if got := w.deliveries(bot.OpPageResponders); len(got) != 1 || got[0].State != bot.DeliveryPending || got[0].Attempts != 1 {
		t.Fatalf("after a 502 the lookup must wait for a retry: %+v", got)
	}
	w.clock.Advance(time.Minute)
	w.drain()
	text := w.timelineText(inc.ID)
	for _, want := range []string{
		"responder_paged Ada is on call in PagerDuty (level 1)",
		"responder_paged Bob is on call in PagerDuty (level 2)",
		"responder_invited invited " + bot.Mention("UADA") + " (ada@example.com)",
		"responder_invited Bob (bob@example.com) has no chat account with that email",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("timeline lacks %q:\n%s", want, text)
		}
	}
	if n := strings.Count(text, "Ada is on call"); n != 1 {
		t.Errorf("Ada recorded %d times, want once", n)
	}
	invites := w.deliveries(bot.OpInvite)
	if len(invites) != 1 || invites[0].State != bot.DeliveryDelivered {
		t.Fatalf("invite deliveries: %+v", invites)
	}
	var p struct{ Users []string }
	_ = json.Unmarshal(invites[0].Payload, &p)
	if !slices.Equal(p.Users, []string{"UADA"}) {
		t.Errorf("invited %v, want [UADA]", p.Users)
	}
}

func TestWriteBack_AckNoteResolveThroughErrors(t *testing.T) {
	w := newWorld(t, nil)
	inc := w.trigger("PINC1")
	w.drain()
	ctx := t.Context()

	// Acknowledge in chat; PagerDuty rate-limits the first attempt.
	w.pd.Fail(pdfake.RouteManageIncidents, pdfake.RateLimited(20))
	if _, err := w.svc.Acknowledge(ctx, "U1", inc.ID); err != nil {
		t.Fatal(err)
	}
	w.drain()
	ack := w.deliveries(bot.OpPagerAcknowledge)
	if len(ack) != 1 || ack[0].State != bot.DeliveryPending || ack[0].NextAttemptAt.Sub(w.clock.Now()) < 20*time.Second {
		t.Fatalf("after a 429 with reset 20s: %+v", ack)
	}
	w.clock.Advance(30 * time.Second)
	w.drain()
	if got, _ := w.pd.Incident("PINC1"); got.Status != pdfake.StatusAcknowledged {
		t.Fatalf("PagerDuty incident %s, want acknowledged", got.Status)
	}

	// PagerDuty's own webhook for that acknowledgement: no echo.
	if _, err := w.svc.RecordSourceEvent(ctx, bot.SourceEvent{Source: bot.PagerSource, DedupKey: "PINC1", EventID: "e-ack",
		Type: "incident.acknowledged", Effect: bot.EffectAcknowledge}); err != nil {
		t.Fatal(err)
	}
	if n := len(w.deliveries(bot.OpPagerAcknowledge)); n != 1 {
		t.Fatalf("PagerDuty's acknowledgement was written back: %d acknowledge deliveries", n)
	}

	if _, err := w.svc.AddNote(ctx, "U1", inc.ID, "gateway config is invalid"); err != nil {
		t.Fatal(err)
	}
	if _, err := w.svc.PostUpdate(ctx, "U1", inc.ID, "rolling back the gateway config"); err != nil {
		t.Fatal(err)
	}
	// Resolve in chat; PagerDuty answers 500 once.
	w.pd.Fail(pdfake.RouteManageIncidents, pdfake.ServerError(500))
	if _, err := w.svc.Resolve(ctx, "U1", inc.ID, "rolled back"); err != nil {
		t.Fatal(err)
	}
	w.drain()
	w.clock.Advance(time.Minute)
	w.drain()
	got, _ := w.pd.Incident("PINC1")
	if got.Status != pdfake.StatusResolved {
		t.Fatalf("PagerDuty incident %s, want resolved", got.Status)
	}
	if len(got.Notes) != 2 || !strings.Contains(got.Notes[0].Content, "gateway config is invalid") ||
		!strings.Contains(got.Notes[1].Content, "rolling back the gateway config") {
		t.Fatalf("notes: %+v", got.Notes)
	}
	for _, n := range got.Notes { // PagerDuty shows a note as plain text
		if strings.ContainsAny(n.Content, "\x02\x03") || !strings.Contains(n.Content, "@U1") {
			t.Errorf("note %q: the author as @U1, without mention markup", n.Content)
		}
	}
	for _, op := range []string{bot.OpPagerAcknowledge, bot.OpPagerNote, bot.OpPagerResolve} {
		for _, d := range w.deliveries(op) {
			if d.State != bot.DeliveryDelivered {
				t.Errorf("%s delivery %d is %s: %s", op, d.ID, d.State, d.LastError)
			}
		}
	}
}

func TestWriteBack_AlreadyResolvedInPagerDuty(t *testing.T) {
	w := newWorld(t, nil)
	inc := w.trigger("PINC1")
	w.drain()
	// Someone resolves it in PagerDuty while sitrep's resolve is queued.
	if _, err := w.svc.Resolve(t.Context(), "U1", inc.ID, ""); err != nil {
		t.Fatal(err)
	}
	w.pd.AddIncident("PINC1", pdfake.StatusResolved, "PEP1")
	w.drain()
	res := w.deliveries(bot.OpPagerResolve)
	if len(res) != 1 || res[0].State != bot.DeliveryDelivered {
		t.Fatalf("resolve of an already resolved incident must succeed: %+v", res)
	}
	if strings.Contains(w.timelineText(inc.ID), string(bot.KindDeliveryFailed)) {
		t.Error("already resolved was recorded as a failure")
	}
}

func TestWriteBack_RefusalIsRecorded(t *testing.T) {
	w := newWorld(t, nil)
	// An incident PagerDuty does not know (deleted, or another account):
	// its 404 is not retried, and the failure shows on the timeline.
	out, err := w.svc.RecordSourceEvent(t.Context(), bot.SourceEvent{Source: bot.PagerSource,
		Trigger: &bot.Alert{Source: bot.PagerSource, DedupKey: "PGONE", Title: "gone", Firing: true}})
	if err != nil {
		t.Fatal(err)
	}
	w.drain()
	if _, err := w.svc.AddNote(t.Context(), "U1", out.Incident.ID, "x"); err != nil {
		t.Fatal(err)
	}
	w.drain()
	notes := w.deliveries(bot.OpPagerNote)
	if len(notes) != 1 || notes[0].State != bot.DeliveryFailed || notes[0].Attempts != 1 {
		t.Fatalf("note deliveries: %+v", notes)
	}
	if !strings.Contains(w.timelineText(out.Incident.ID), "could not deliver pager.note") {
		t.Errorf("failure not on the timeline:\n%s", w.timelineText(out.Incident.ID))
	}
}

func TestWriteBack_OnlyPagerDutyIncidents(t *testing.T) {
	w := newWorld(t, nil)
	inc, err := w.svc.Declare(t.Context(), bot.DeclareRequest{Actor: "U1", Title: "by hand"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.svc.Resolve(t.Context(), "U1", inc.ID, ""); err != nil {
		t.Fatal(err)
	}
	if n := len(w.deliveries(bot.OpPagerResolve)); n != 0 {
		t.Fatalf("a chat incident was written back to PagerDuty: %d", n)
	}
}
