package slackchat_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/sitrep-io/sitrep/bot"
	"github.com/sitrep-io/sitrep/internal/slackfake"
)

// The permission policy through signed slash commands and clicks: who may
// resolve, re-open, change severity and roles, declare and export.

func mustRules(t *testing.T, perm bot.Permission, text string) []bot.PermissionRule {
	t.Helper()
	rules, err := bot.ParsePermissionRules(perm, text)
	if err != nil {
		t.Fatal(err)
	}
	return rules
}

// say runs a slash command in channel and returns its answer's text.
func (h *featureHarness) say(user, channel, text string) string {
	h.t.Helper()
	status, out := h.command(user, channel, text)
	if status != http.StatusOK {
		h.t.Fatalf("/incident %s: %d %v", text, status, out)
	}
	h.drain()
	s, _ := out["text"].(string)
	return s
}

func TestSlackPermissions_Policy(t *testing.T) {
	h := newFeatureHarness(t)
	h.fake.AddUserGroup("SSREONCALL", "UONCALL")
	h.svc.EnableAccess(bot.AccessConfig{Members: h.chat, Directory: h.chat, Policy: bot.Permissions{
		bot.PermDeclare:  mustRules(t, bot.PermDeclare, "U1 U2 SSREONCALL"),
		bot.PermResolve:  mustRules(t, bot.PermResolve, "SEV1: commander SSREONCALL"),
		bot.PermReopen:   mustRules(t, bot.PermReopen, "SSREONCALL"),
		bot.PermSeverity: mustRules(t, bot.PermSeverity, "SEV1: commander"),
		bot.PermRoles:    mustRules(t, bot.PermRoles, "commander"),
		bot.PermExport:   mustRules(t, bot.PermExport, "commander"),
	}})
	sev1 := h.declared("U1", "--sev1 Checkout down")
	refusals := 0
	refused := func(text, want string) {
		t.Helper()
		refusals++
		if !strings.Contains(text, "you may not "+want) {
			t.Errorf("want a refusal to %s, got %q", want, text)
		}
	}

	refused(h.say("UDEV", sev1.ChannelID, "resolve fixed it"), "resolve "+sev1.Key()+" (SEV1): only the commander, <!subteam^SSREONCALL> may")
	h.click("UDEV", h.incident(sev1.ID), bot.ActionResolve)
	refusals++
	if eph := h.lastEphemeral(sev1.ChannelID, "UDEV"); !strings.Contains(eph.Text, "you may not resolve") {
		t.Errorf("the Resolve button's refusal is not shown to the clicker: %q", eph.Text)
	}
	if got := h.incident(sev1.ID); got.Status == bot.StatusResolved {
		t.Fatal("UDEV resolved a SEV1")
	}
	if text := h.say("UONCALL", sev1.ChannelID, "status resolved"); strings.Contains(text, "may not") {
		t.Fatalf("a member of @sre-oncall may resolve: %q", text)
	}
	refused(h.say("U1", sev1.ChannelID, "status investigating"), "re-open "+sev1.Key())
	if text := h.say("UONCALL", sev1.ChannelID, "status investigating"); strings.Contains(text, "may not") {
		t.Fatalf("@sre-oncall may re-open: %q", text)
	}

	refused(h.say("UDEV", sev1.ChannelID, "lead <@UDEV>"), "change the roles of "+sev1.Key())
	if got := h.incident(sev1.ID); got.Commander != "U1" {
		t.Fatalf("commander %s after a refused lead", got.Commander)
	}
	h.say("U1", sev1.ChannelID, "lead <@U2>")
	refused(h.say("UDEV", sev1.ChannelID, "sev 2"), "change the severity of "+sev1.Key())
	h.say("U2", sev1.ChannelID, "sev 3") // the commander now
	if text := h.say("UDEV", sev1.ChannelID, "sev 4"); strings.Contains(text, "may not") {
		t.Errorf("SEV3 → SEV4 matches no rule, anyone may: %q", text)
	}
	refused(h.say("UDEV", sev1.ChannelID, "export"), "export the postmortem of "+sev1.Key())

	refused(h.say("UDEV", "CGENERAL", "declare Not allowed to"), "declare an incident")
	incs, _ := h.db.Incidents(t.Context(), bot.IncidentFilter{})
	if len(incs) != 1 {
		t.Errorf("%d incidents after a refused declaration, want 1", len(incs))
	}

	got := h.incident(sev1.ID)
	if got.Severity != bot.SEV4 || got.Commander != "U2" || got.Status != bot.StatusInvestigating {
		t.Errorf("incident %+v", got)
	}
	n := 0
	for _, ev := range h.timeline(sev1.ID) {
		if ev.Kind == bot.KindAccessRefused {
			n++
			if !strings.Contains(ev.Text, "refused <@") {
				t.Errorf("refusal event %q", ev.Text)
			}
		}
	}
	if want := refusals - 1; n != want { // the declaration has no timeline
		t.Errorf("%d refusals on the timeline, want %d", n, want)
	}

	// Below SEV1, anyone resolves, as before.
	sev3 := h.declared("U2", "--sev3 Slow search")
	if text := h.say("UDEV", sev3.ChannelID, "resolve"); strings.Contains(text, "may not") {
		t.Errorf("resolving a SEV3 is open to anyone: %q", text)
	}
	if got := h.incident(sev3.ID); got.Status != bot.StatusResolved {
		t.Errorf("%s is %s", got.Key(), got.Status)
	}
}

// When Slack cannot say who is in a user group the policy names, the
// change is refused with a retry hint, nothing is recorded, and it goes
// through once Slack answers.
func TestSlackPermissions_GroupLookupFailsClosed(t *testing.T) {
	h := newFeatureHarness(t)
	h.fake.AddUserGroup("SSREONCALL", "UONCALL")
	h.svc.EnableAccess(bot.AccessConfig{Members: h.chat, Directory: h.chat, Policy: bot.Permissions{
		bot.PermResolve: mustRules(t, bot.PermResolve, "commander SSREONCALL")}})
	inc := h.declared("U1", "--sev1 Checkout down")
	h.fake.FailNext("usergroups.users.list", slackfake.ServerError(500))
	if text := h.say("UONCALL", inc.ChannelID, "resolve"); !strings.Contains(text, "try again") {
		t.Errorf("want a refusal saying to try again, got %q", text)
	}
	if got := h.incident(inc.ID); got.Status == bot.StatusResolved {
		t.Fatal("resolved although the group could not be read")
	}
	if n := h.eventsOf(inc, bot.KindAccessRefused); n != 0 {
		t.Errorf("%d refusals recorded; nothing was decided about UONCALL", n)
	}
	if text := h.say("UONCALL", inc.ChannelID, "resolve"); strings.Contains(text, "may not") || strings.Contains(text, "try again") {
		t.Errorf("once Slack answers, @sre-oncall may resolve: %q", text)
	}
}
