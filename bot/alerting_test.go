package bot_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sitrep-io/sitrep/bot"
)

const triageChannel = "CTRIAGE"

// newAlertingEnv is newEnv with alerting on: triage to triageChannel and
// summaries every minute.
func newAlertingEnv(t *testing.T) *env {
	t.Helper()
	e := newEnv(t, bot.ServiceConfig{})
	e.wire(bot.Alerting(bot.AlertingConfig{TriageChannel: triageChannel, Triage: bot.DefaultTriagePolicy(), SummaryEvery: time.Minute}, e.chat))
	return e
}

func warning(eventID string) bot.Alert {
	return bot.Alert{Source: "alertmanager", DedupKey: "disk", Title: "Disk 90% full", Severity: bot.SEV3, Firing: true, EventID: eventID}
}

func (e *env) triage(id int64) bot.Triage {
	e.t.Helper()
	tr, err := e.db.AlertTriage(e.ctx(), id)
	if err != nil {
		e.t.Fatalf("AlertTriage(%d): %v", id, err)
	}
	return tr
}

func TestTriage_PolicyOpensSevereAlertsAtOnce(t *testing.T) {
	e := newAlertingEnv(t)
	out := e.alert(bot.Alert{Source: "alertmanager", DedupKey: "api", Severity: bot.SEV2, Firing: true})
	e.drain()
	if len(e.chat.Calls("create")) != 1 || len(e.chat.In(triageChannel)) != 0 {
		t.Fatalf("a SEV2 alert must open its channel at once: %v", e.chat.Calls(""))
	}
	if _, err := e.db.AlertTriage(e.ctx(), out.Incident.ID); bot.ErrorCode(err) != bot.ENOTFOUND {
		t.Fatalf("a SEV2 alert has a triage record: %v", err)
	}
	p := bot.TriagePolicy{Default: bot.SEV2, BySource: map[string]bot.Severity{"pagerduty": bot.SEV4}}
	if !p.Triaged("alertmanager", bot.SEV3) || p.Triaged("pagerduty", bot.SEV4) || p.Triaged("x", bot.SEV1) {
		t.Error("TriagePolicy.Triaged does not follow its thresholds")
	}
}

func TestTriage_Accept(t *testing.T) {
	e := newAlertingEnv(t)
	out := e.alert(warning("w1"))
	e.drain()
	if n := len(e.chat.Calls("create")); n != 0 {
		t.Fatalf("a triaged alert created %d channels", n)
	}
	posts := e.chat.In(triageChannel)
	if len(posts) != 1 || !strings.Contains(posts[0].Text, "open an incident channel?") {
		t.Fatalf("triage message: %v", posts)
	}
	inc, err := e.svc.AcceptTriage(e.ctx(), "U7", out.Incident.ID)
	if err != nil {
		t.Fatal(err)
	}
	if inc.Commander != "U7" {
		t.Errorf("commander = %q, want the acceptor", inc.Commander)
	}
	e.drain()
	if n := len(e.chat.Calls("create")); n != 1 {
		t.Fatalf("accept created %d channels, want 1", n)
	}
	if invites := e.chat.Calls("invite"); len(invites) != 1 || invites[0].Users[0] != "U7" {
		t.Errorf("invites: %v", invites)
	}
	upd := e.chat.Calls("update")
	if len(upd) == 0 || upd[len(upd)-1].Channel != triageChannel || !strings.Contains(upd[len(upd)-1].Text, "accepted by "+bot.Mention("U7")) {
		t.Errorf("triage message not redrawn as accepted: %v", upd)
	}
	if e.triage(inc.ID).State != bot.TriageAccepted {
		t.Error("triage state not accepted")
	}
	if _, err := e.svc.AcceptTriage(e.ctx(), "U8", inc.ID); bot.ErrorCode(err) != bot.EINVALID {
		t.Errorf("second accept: %v, want EINVALID", err)
	}
}

func TestTriage_Decline(t *testing.T) {
	e := newAlertingEnv(t)
	out := e.alert(warning("w1"))
	e.drain()
	reply, err := e.svc.HandleAction(e.ctx(), bot.ActionInvocation{Actor: "U7", ActionID: bot.ActionTriageDecline,
		Value: fmt.Sprint(out.Incident.ID), Input: map[string]string{"reason": "known noisy disk alert"}})
	if err != nil {
		t.Fatal(err)
	}
	if reply.Incident.Status != bot.StatusResolved {
		t.Fatalf("declined incident status %s, want resolved", reply.Incident.Status)
	}
	e.drain()
	if n := len(e.chat.Calls("create")); n != 0 {
		t.Fatalf("decline created %d channels", n)
	}
	upd := e.chat.Calls("update")
	if len(upd) != 1 || !strings.Contains(upd[0].Text, "declined by "+bot.Mention("U7")+": known noisy disk alert") {
		t.Fatalf("triage message after decline: %v", upd)
	}
	declined := false
	for _, ev := range e.timeline(out.Incident.ID) {
		if ev.Kind == bot.KindTriage && ev.Data["declined"] == true && ev.Data["reason"] == "known noisy disk alert" {
			declined = true
		}
	}
	if !declined {
		t.Errorf("no declined mark on the timeline: %v", kinds(e.timeline(out.Incident.ID)))
	}
	if _, err := e.svc.AcceptTriage(e.ctx(), "U8", out.Incident.ID); bot.ErrorCode(err) != bot.EINVALID {
		t.Errorf("accept after decline: %v, want EINVALID", err)
	}
	// The key is free again: the next alert opens a new incident.
	if again := e.alert(warning("w2")); !again.Opened || again.Incident.ID == out.Incident.ID {
		t.Errorf("alert after decline: %+v", again)
	}
}

func TestTriage_RefireUpdatesTheMessage(t *testing.T) {
	e := newAlertingEnv(t)
	out := e.alert(warning("w1"))
	e.drain()
	for i := 2; i <= 30; i++ {
		if o := e.alert(warning(fmt.Sprintf("w%d", i))); o.Opened || !o.Recorded {
			t.Fatalf("refire %d: %+v", i, o)
		}
	}
	e.drain()
	if got := len(e.chat.Calls("")); got != 1 {
		t.Fatalf("refires before the summary window ends made %d chat calls, want 1 (the triage post)", got)
	}
	e.clock.Advance(time.Minute)
	e.drain()
	upd := e.chat.Calls("update")
	if len(upd) != 1 || upd[0].Channel != triageChannel || !strings.Contains(upd[0].Text, "30 fired") {
		t.Fatalf("refires: want one redraw of the triage message saying 30 fired, got %v", upd)
	}
	if len(e.chat.In(triageChannel)) != 2 || len(e.chat.Calls("post")) != 1 {
		t.Errorf("a refire posted a new message: %v", e.chat.Calls(""))
	}
	if e.triage(out.Incident.ID).State != bot.TriagePending {
		t.Error("refire changed the triage state")
	}
}

// TestAlertStorm_OneIncidentPerGroupBoundedChat: 10,000 notifications for 50
// groups, from 16 concurrent senders, open 50 incidents, record every alert
// once, and queue a bounded number of chat messages.
func TestAlertStorm_OneIncidentPerGroupBoundedChat(t *testing.T) {
	e := newEnv(t, bot.ServiceConfig{})
	e.wire(bot.Alerting(bot.AlertingConfig{SummaryEvery: time.Minute}, e.chat))
	const groups, notifications, senders = 50, 10_000, 16
	var wg sync.WaitGroup
	errs := make(chan error, senders)
	for s := range senders {
		wg.Go(func() {
			for n := s; n < notifications; n += senders {
				g := bot.AlertGroup{Source: "alertmanager", DedupKey: fmt.Sprintf("group-%d", n%groups), Alerts: []bot.Alert{{
					Title: "5xx", Severity: bot.SEV1, Firing: true,
					// Each alert of a group is sent 4 times (a repeat
					// notification resends it).
					EventID: fmt.Sprintf("fp-%d", n/groups/4),
				}}}
				if _, err := e.svc.IngestAlertGroup(e.ctx(), g); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	incs := e.incidents()
	if len(incs) != groups {
		t.Fatalf("got %d incidents, want %d", len(incs), groups)
	}
	fired := 0
	for _, inc := range incs {
		fired += count(e.timeline(inc.ID), bot.KindAlertFired)
	}
	if want := notifications / 4; fired != want {
		t.Fatalf("recorded %d alerts, want %d (each distinct alert once)", fired, want)
	}
	live := e.deliveries(bot.DeliveryPending)
	// Per incident: channel, card, one summary; nothing per repeat.
	if bound := groups * 3; len(live) > bound {
		t.Fatalf("%d outbox entries queued, want at most %d", len(live), bound)
	}
	e.drain()
	e.clock.Advance(time.Minute)
	e.drain()
	calls := e.chat.Calls("")
	// create + card + pin + summary post per incident.
	if bound := groups * 4; len(calls) > bound {
		t.Fatalf("%d chat calls, want at most %d", len(calls), bound)
	}
	if got := len(e.chat.Calls("create")); got != groups {
		t.Fatalf("%d channels created, want %d", got, groups)
	}
	summaries := 0
	for _, c := range e.chat.Calls("post") {
		if strings.HasPrefix(c.Text, "Alerts on INC-") {
			summaries++
		}
	}
	if summaries != groups {
		t.Errorf("%d alert summaries posted, want one per incident (%d)", summaries, groups)
	}
}

func TestTriage_ResolvedAtTheSourceCloses(t *testing.T) {
	e := newAlertingEnv(t)
	trigger := bot.Alert{Source: bot.PagerSource, DedupKey: "PLOW", EventID: "e1", Title: "low urgency", Severity: bot.SEV3, Firing: true}
	out, err := e.svc.RecordSourceEvent(e.ctx(), bot.SourceEvent{Source: bot.PagerSource, Trigger: &trigger})
	if err != nil || !out.Opened {
		t.Fatalf("trigger: %+v %v", out, err)
	}
	e.drain()
	ack := bot.SourceEvent{Source: bot.PagerSource, DedupKey: "PLOW", EventID: "e2", Type: "incident.acknowledged", Effect: bot.EffectAcknowledge, Agent: "Ada"}
	if _, err := e.svc.RecordSourceEvent(e.ctx(), ack); err != nil {
		t.Fatal(err)
	}
	res := bot.SourceEvent{Source: bot.PagerSource, DedupKey: "PLOW", EventID: "e3", Type: "incident.resolved", Effect: bot.EffectResolve}
	if _, err := e.svc.RecordSourceEvent(e.ctx(), res); err != nil {
		t.Fatal(err)
	}
	e.drain()
	if inc := e.incident(out.Incident.ID); inc.Status != bot.StatusResolved {
		t.Fatalf("status %s, want resolved", inc.Status)
	}
	if tr := e.triage(out.Incident.ID); tr.State != bot.TriageClosed {
		t.Errorf("triage %s, want closed", tr.State)
	}
	for _, d := range e.deliveries() {
		if d.State == bot.DeliveryFailed {
			t.Errorf("delivery %s failed: %s (a channel-less incident must not talk to its channel)", d.Op, d.LastError)
		}
	}
	if n := len(e.chat.Calls("create")); n != 0 {
		t.Errorf("%d channels created", n)
	}
	if upd := e.chat.Calls("update"); len(upd) == 0 || !strings.Contains(upd[len(upd)-1].Text, "closed by alert:pagerduty") {
		t.Errorf("triage message not redrawn as closed: %v", upd)
	}
}
