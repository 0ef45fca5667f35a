package bot_test

import (
	"strings"
	"testing"

	"github.com/sitrep-io/sitrep/bot"
)

func checkoutAlert(key, eventID string, firing bool) bot.Alert {
	return bot.Alert{Source: "alertmanager", DedupKey: key, Title: "Checkout 5xx on " + key, Severity: bot.SEV2, Firing: firing,
		EventID: eventID, Labels: map[string]string{"service": "checkout", "instance": key}}
}

// TestAttachByLabel: with the policy on, alerts with new dedup keys that
// share the open incident's service are recorded on it (saying so on the
// timeline) instead of opening an incident and a channel each; their
// resolves land there too. Once that incident is resolved, the next alert
// of the service opens its own.
func TestAttachByLabel(t *testing.T) {
	e := newEnv(t, bot.ServiceConfig{})
	e.svc.EnableAlerting(bot.AlertingConfig{AttachByLabel: "service"})
	e.disp.Handle(e.svc.AlertHandlers(e.chat))

	first := e.alert(checkoutAlert("gw-1", "e1", true))
	if !first.Opened {
		t.Fatal("the first alert of the service did not open an incident")
	}
	for i, key := range []string{"gw-2", "gw-3", "gw-4"} {
		out := e.alert(checkoutAlert(key, "f"+key, true))
		if out.Opened || out.Incident.ID != first.Incident.ID || !out.Recorded {
			t.Fatalf("alert %d (%s): opened=%v on %s recorded=%v; want recorded on %s", i, key, out.Opened, out.Incident.Key(), out.Recorded, first.Incident.Key())
		}
	}
	// Another service still opens its own incident.
	other := e.alert(bot.Alert{Source: "alertmanager", DedupKey: "db-1", Title: "DB down", Severity: bot.SEV2, Firing: true,
		EventID: "o1", Labels: map[string]string{"service": "db"}})
	if !other.Opened {
		t.Fatal("an alert of another service was attached")
	}
	resolved := e.alert(checkoutAlert("gw-3", "rgw-3", false))
	if resolved.Incident.ID != first.Incident.ID || !resolved.Recorded {
		t.Fatalf("the resolve of an attached alert: on %s recorded=%v (ignored %q)", resolved.Incident.Key(), resolved.Recorded, resolved.Ignored)
	}
	e.drain()
	if n := len(e.chat.Calls("create")); n != 2 {
		t.Errorf("%d channels created, want 2 (checkout, db)", n)
	}
	attached := 0
	for _, ev := range e.timeline(first.Incident.ID) {
		if ev.Data["attached_by"] == "service" {
			attached++
			if !strings.Contains(ev.Text, `same service="checkout"`) {
				t.Errorf("an attached alert's event does not say why: %q", ev.Text)
			}
		}
	}
	if attached != 4 {
		t.Errorf("%d attached alert events, want 4 (three fired, one resolved)", attached)
	}

	if _, err := e.svc.Resolve(e.ctx(), "U1", first.Incident.ID, ""); err != nil {
		t.Fatal(err)
	}
	again := e.alert(checkoutAlert("gw-5", "e5", true))
	if !again.Opened || again.Incident.ID == first.Incident.ID {
		t.Errorf("after the incident was resolved, a new alert of the service opened=%v on %s; want a new incident", again.Opened, again.Incident.Key())
	}
}

// TestAttachByLabelOff: without the policy (the default) every new dedup
// key opens its own incident, whatever its labels.
func TestAttachByLabelOff(t *testing.T) {
	e := newEnv(t, bot.ServiceConfig{})
	e.svc.EnableAlerting(bot.AlertingConfig{})
	a, b := e.alert(checkoutAlert("gw-1", "e1", true)), e.alert(checkoutAlert("gw-2", "e2", true))
	if !a.Opened || !b.Opened || a.Incident.ID == b.Incident.ID {
		t.Errorf("policy off: opened %v %v on %s and %s; want two incidents", a.Opened, b.Opened, a.Incident.Key(), b.Incident.Key())
	}
}
