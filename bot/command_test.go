package bot_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sitrep-io/sitrep/bot"
)

// cmdEnv has one declared incident with its channel, and a triggered one
// from an alert, also with its channel.
func cmdEnv(t *testing.T) (*env, bot.Incident, bot.Incident) {
	t.Helper()
	e := newEnv(t, bot.ServiceConfig{BroadcastChannel: broadcast})
	declared := e.opened("Payments failing")
	alerted := e.alert(bot.Alert{DedupKey: "k", Firing: true}).Incident
	e.drain()
	alerted = e.incident(alerted.ID)
	if declared.ChannelID == "" || alerted.ChannelID == "" {
		t.Fatal("incident channels not created")
	}
	e.clock.Advance(time.Minute)
	return e, declared, alerted
}

func (e *env) exec(channel, text string) (bot.Reply, error) {
	return e.svc.Execute(e.ctx(), bot.Invocation{Actor: "U1", ChannelID: channel, Text: text})
}

func TestExecute(t *testing.T) {
	tests := []struct {
		name      string
		text      string
		alerted   bool // run in the triggered incident's channel
		wantReply string
		check     func(t *testing.T, inc bot.Incident, last bot.Event)
	}{
		{"Status", "status identified bad deploy found", false, "INC-1: SEV3, identified", func(t *testing.T, inc bot.Incident, last bot.Event) {
			if inc.Status != bot.StatusIdentified || last.Kind != bot.KindStatusChanged || last.Data["message"] != "bad deploy found" {
				t.Errorf("status %s, last event %s %v", inc.Status, last.Kind, last.Data)
			}
		}},
		{"StatusCaseInsensitive", "STATUS Monitoring", false, "INC-1: SEV3, monitoring", func(t *testing.T, inc bot.Incident, _ bot.Event) {
			if inc.Status != bot.StatusMonitoring || inc.MitigatedAt.IsZero() {
				t.Errorf("status %s mitigated %v, want monitoring, mitigated", inc.Status, inc.MitigatedAt)
			}
		}},
		{"Sev", "sev 1", false, "INC-1: SEV1, investigating", func(t *testing.T, inc bot.Incident, last bot.Event) {
			if inc.Severity != bot.SEV1 || last.Kind != bot.KindSeverityChanged {
				t.Errorf("severity %s, last event %s", inc.Severity, last.Kind)
			}
		}},
		{"SeverityAlias", "severity P2", false, "INC-1: SEV2, investigating", func(t *testing.T, inc bot.Incident, _ bot.Event) {
			if inc.Severity != bot.SEV2 {
				t.Errorf("severity %s, want SEV2", inc.Severity)
			}
		}},
		{"LeadMention", "lead <@U123|alice>", false, "INC-1: SEV3, investigating", func(t *testing.T, inc bot.Incident, last bot.Event) {
			if inc.Commander != "U123" || last.Data["user"] != "U123" {
				t.Errorf("commander %q, event %v; want U123", inc.Commander, last.Data)
			}
		}},
		{"CommanderAlias", "commander <@U7>", false, "INC-1: SEV3, investigating", func(t *testing.T, inc bot.Incident, _ bot.Event) {
			if inc.Commander != "U7" {
				t.Errorf("commander %q, want U7", inc.Commander)
			}
		}},
		{"Comms", "comms @bob", false, "INC-1: SEV3, investigating", func(t *testing.T, inc bot.Incident, _ bot.Event) {
			if inc.CommsLead != "bob" || inc.Commander != "U1" {
				t.Errorf("comms %q commander %q, want bob, U1", inc.CommsLead, inc.Commander)
			}
		}},
		{"Ack", "ack", true, "INC-2: SEV3, investigating", func(t *testing.T, inc bot.Incident, last bot.Event) {
			if inc.Status != bot.StatusInvestigating || inc.AcknowledgedAt.IsZero() || last.Kind != bot.KindAcknowledged {
				t.Errorf("status %s acknowledged %v event %s", inc.Status, inc.AcknowledgedAt, last.Kind)
			}
		}},
		{"AcknowledgeAlias", "acknowledge", true, "INC-2: SEV3, investigating", nil},
		{"Note", "note  checked   the dashboards", false, "Noted on the timeline of INC-1", func(t *testing.T, _ bot.Incident, last bot.Event) {
			if last.Kind != bot.KindNote || last.Text != "checked   the dashboards" {
				t.Errorf("last event %s %q, want the note", last.Kind, last.Text)
			}
		}},
		{"Update", "update rolling back now", false, "INC-1: SEV3, investigating", func(t *testing.T, inc bot.Incident, last bot.Event) {
			if last.Kind != bot.KindStatusUpdate || last.Text != "rolling back now" || inc.LastUpdateAt.IsZero() {
				t.Errorf("last event %s %q, last update %v", last.Kind, last.Text, inc.LastUpdateAt)
			}
		}},
		{"Resolve", "resolve rolled back", false, "INC-1: SEV3, resolved", func(t *testing.T, inc bot.Incident, last bot.Event) {
			if inc.Status != bot.StatusResolved || inc.ResolvedAt.IsZero() || last.Data["message"] != "rolled back" {
				t.Errorf("status %s resolved %v event %v", inc.Status, inc.ResolvedAt, last.Data)
			}
		}},
		{"ResolveNoSummary", "resolve", false, "INC-1: SEV3, resolved", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, declared, alerted := cmdEnv(t)
			inc := declared
			if tt.alerted {
				inc = alerted
			}
			reply, err := e.exec(inc.ChannelID, tt.text)
			if err != nil {
				t.Fatalf("Execute(%q): %v", tt.text, err)
			}
			if reply.Text != tt.wantReply {
				t.Errorf("reply %q, want %q", reply.Text, tt.wantReply)
			}
			if reply.Incident.ID != inc.ID {
				t.Errorf("reply is about %s, want %s", reply.Incident.Key(), inc.Key())
			}
			stored := e.incident(inc.ID)
			if !stored.UpdatedAt.Equal(e.clock.Now()) {
				t.Errorf("updated at %v, want %v", stored.UpdatedAt, e.clock.Now())
			}
			evs := e.timeline(inc.ID)
			if tt.check != nil {
				tt.check(t, stored, evs[len(evs)-1])
			}
		})
	}
}

func TestExecuteByIncidentID(t *testing.T) {
	e, declared, _ := cmdEnv(t)
	reply, err := e.svc.Execute(e.ctx(), bot.Invocation{Actor: "U1", IncidentID: declared.ID, ChannelID: "CELSEWHERE", Text: "sev 2"})
	if err != nil {
		t.Fatal(err)
	}
	if reply.Incident.ID != declared.ID || e.incident(declared.ID).Severity != bot.SEV2 {
		t.Errorf("reply %+v, want %s at SEV2", reply, declared.Key())
	}
	_, err = e.svc.Execute(e.ctx(), bot.Invocation{Actor: "U1", IncidentID: 99, Text: "sev 2"})
	wantCode(t, err, bot.ENOTFOUND)
}

func TestExecuteDeclare(t *testing.T) {
	for _, tt := range []struct {
		name        string
		text        string
		wantTitle   string
		wantSev     bot.Severity
		wantPrivate bool
	}{
		{"OK", "declare Checkout is down", "Checkout is down", bot.SEV3, false},
		{"OKPrivateSev2", "declare --private --sev2 Card data exposed", "Card data exposed", bot.SEV2, true},
		{"OKSevEquals", "declare --sev=1 --private Everything is down", "Everything is down", bot.SEV1, true},
		{"OKUpperCase", "DECLARE --SEV4 Typo on the status page", "Typo on the status page", bot.SEV4, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, bot.ServiceConfig{})
			// declare works anywhere, not only in incident channels.
			reply, err := e.exec("CGENERAL", tt.text)
			if err != nil {
				t.Fatalf("Execute(%q): %v", tt.text, err)
			}
			inc := e.incident(reply.Incident.ID)
			if inc.Title != tt.wantTitle || inc.Severity != tt.wantSev || inc.Private != tt.wantPrivate || inc.Commander != "U1" {
				t.Errorf("declared %q %s private=%v commander %q; want %q %s private=%v U1",
					inc.Title, inc.Severity, inc.Private, inc.Commander, tt.wantTitle, tt.wantSev, tt.wantPrivate)
			}
			if want := "Declared " + inc.Key() + " " + tt.wantSev.String() + ": " + tt.wantTitle; reply.Text != want {
				t.Errorf("reply %q, want %q", reply.Text, want)
			}
		})
	}
}

func TestExecuteInvalid(t *testing.T) {
	tests := []struct {
		name     string
		text     string
		wantMsg  []string
		outside  bool // typed outside an incident channel
		wantCode string
	}{
		{"ErrUnknownCommand", "frobnicate now", []string{`unknown command "frobnicate"`, "Usage: /incident <command>", "declare"}, false, bot.EINVALID},
		{"ErrUnknownStatus", "status fixed", []string{`unknown status "fixed"`, "Usage: /incident status <status> [message]"}, false, bot.EINVALID},
		{"ErrStatusTriggered", "status triggered", []string{"Usage: /incident status"}, false, bot.EINVALID},
		{"ErrStatusMissing", "status", []string{"Usage: /incident status"}, false, bot.EINVALID},
		{"ErrSeverity", "sev 9", []string{`"9" is not a severity`, "Usage: /incident sev <1-4>"}, false, bot.EINVALID},
		{"ErrLeadMissing", "lead", []string{"Usage: /incident lead <@user>"}, false, bot.EINVALID},
		{"ErrLeadTwoUsers", "lead alice bob", []string{"name one user", "Usage: /incident lead"}, false, bot.EINVALID},
		{"ErrCommsMissing", "comms", []string{"Usage: /incident comms <@user>"}, false, bot.EINVALID},
		{"ErrNoteEmpty", "note", []string{"Usage: /incident note [--update | --next] <text>"}, false, bot.EINVALID},
		{"ErrNoteMarkedEmpty", "note --update  ", []string{"a note needs text", "Usage: /incident note"}, false, bot.EINVALID},
		{"ErrUpdateNextBad", "update --next soon Rolling back", []string{`"soon" is not a time`, "Usage: /incident update"}, false, bot.EINVALID},
		{"ErrUpdateNextTooFar", "update --next 48h Rolling back", []string{"more than 24 h ahead", "Usage: /incident update"}, false, bot.EINVALID},
		{"ErrUpdateNextPast", "update --next -5m Rolling back", []string{"not ahead of now"}, false, bot.EINVALID},
		{"ErrDeclareNoTitle", "declare", []string{"a title is required", "Usage: /incident declare"}, false, bot.EINVALID},
		{"ErrDeclareOnlyFlags", "declare --private --sev1", []string{"a title is required", "Usage: /incident declare"}, false, bot.EINVALID},
		{"ErrDeclareBadSev", "declare --sev9 Title", []string{`"--sev9" is not a severity`, "Usage: /incident declare"}, false, bot.EINVALID},
		{"ErrAckNotTriggered", "ack", []string{"already acknowledged"}, false, bot.EINVALID},
		{"ErrSameSeverity", "sev 3", []string{"already SEV3"}, false, bot.EINVALID},
		{"ErrOutsideChannel", "status resolved", []string{"not an incident channel", "/incident declare"}, true, bot.EINVALID},
		{"ErrOutsideChannelNote", "note hello", []string{"not an incident channel"}, true, bot.EINVALID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, declared, _ := cmdEnv(t)
			channel := declared.ChannelID
			if tt.outside {
				channel = "CGENERAL"
			}
			before := e.snapshot()
			_, err := e.exec(channel, tt.text)
			wantCode(t, err, tt.wantCode)
			msg := bot.ErrorMessage(err)
			for _, want := range tt.wantMsg {
				if !strings.Contains(msg, want) {
					t.Errorf("message %q does not contain %q", msg, want)
				}
			}
			e.requireUnchanged(before)
		})
	}

	t.Run("ErrNoChannel", func(t *testing.T) {
		e := newEnv(t, bot.ServiceConfig{})
		_, err := e.svc.Execute(e.ctx(), bot.Invocation{Actor: "U1", Text: "timeline"})
		wantCode(t, err, bot.EINVALID)
	})
}

func TestExecuteHelp(t *testing.T) {
	e := newEnv(t, bot.ServiceConfig{})
	for _, text := range []string{"", "help", "  HELP  "} {
		reply, err := e.exec("", text)
		if err != nil {
			t.Fatalf("Execute(%q): %v", text, err)
		}
		if reply.Text != e.svc.Usage() {
			t.Errorf("Execute(%q) = %q, want the usage", text, reply.Text)
		}
	}
	usage := e.svc.Usage()
	for _, cmd := range []string{"declare", "status", "sev", "lead", "comms", "ack", "note", "update", "resolve", "timeline", "list", "help"} {
		if !strings.Contains(usage, "\n  "+cmd) {
			t.Errorf("usage does not list %q:\n%s", cmd, usage)
		}
	}
}

func TestExecuteList(t *testing.T) {
	t.Run("OKEmpty", func(t *testing.T) {
		e := newEnv(t, bot.ServiceConfig{})
		reply, err := e.exec("", "list")
		if err != nil || reply.Text != "No open incidents." {
			t.Errorf("list = %q, %v; want %q", reply.Text, err, "No open incidents.")
		}
	})
	t.Run("OK", func(t *testing.T) {
		e, declared, alerted := cmdEnv(t)
		gone := e.declare("Already over")
		if _, err := e.svc.Resolve(e.ctx(), "U1", gone.ID, ""); err != nil {
			t.Fatal(err)
		}
		reply, err := e.exec("CGENERAL", "list")
		if err != nil {
			t.Fatal(err)
		}
		want := "Open incidents:" +
			"\nINC-2 SEV3 triggered: High error rate (#" + alerted.ChannelName + ")" +
			"\nINC-1 SEV3 investigating: Payments failing (#" + declared.ChannelName + ")"
		if reply.Text != want {
			t.Errorf("list =\n%s\nwant\n%s", reply.Text, want)
		}
	})
}

func TestExecuteTimeline(t *testing.T) {
	e, declared, _ := cmdEnv(t)
	if _, err := e.exec(declared.ChannelID, "note  first\n  look"); err != nil {
		t.Fatal(err)
	}
	reply, err := e.exec(declared.ChannelID, "timeline")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(reply.Text, "\n")
	if got, want := lines[0], "Timeline of INC-1 SEV3: Payments failing"; got != want {
		t.Errorf("heading %q, want %q", got, want)
	}
	evs := e.timeline(declared.ID)
	if got, want := len(lines)-1, len(evs); got != want {
		t.Fatalf("%d event lines, want %d:\n%s", got, want, reply.Text)
	}
	wantKinds := []bot.EventKind{bot.KindDeclared, bot.KindRoleAssigned, bot.KindChannelCreated, bot.KindNote}
	for i, kind := range wantKinds {
		line := lines[i+1]
		if !strings.Contains(line, string(kind)) || !strings.HasPrefix(line, evs[i].OccurredAt.Format("2006-01-02 15:04:05")) {
			t.Errorf("line %d %q, want the %s event at %v", i+1, line, kind, evs[i].OccurredAt)
		}
	}
	if line := lines[4]; !strings.HasSuffix(line, fmt.Sprintf("%-17s %s", bot.KindNote, "first look")) || !strings.HasPrefix(line, e.clock.Now().Format("2006-01-02 15:04:05")) {
		t.Errorf("note line %q, want its time and the text on one line", line)
	}
	if !strings.Contains(lines[2], "@U1 is commander") || strings.Contains(lines[2], "<@") {
		t.Errorf("role line %q, want plain @U1", lines[2])
	}
}
