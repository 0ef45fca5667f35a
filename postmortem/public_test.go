package postmortem_test

import (
	"strings"
	"testing"
	"time"

	"github.com/sitrep-io/sitrep/bot"
)

// TestCommunicationsListsPublicUpdates: the communications section lists
// the updates a status page took, with their times, status and text; a
// refused one is listed apart, as refused, with the page's reason.
func TestCommunicationsListsPublicUpdates(t *testing.T) {
	in := seedInput(time.UTC)
	tl := timeline(in.Events)
	pub := func(at, status, body string) map[string]any {
		return map[string]any{"title": "Partial outage of api-gateway", "body": body, "status": status,
			"components": []any{}, "ref": "inc1", "page": "Atlassian Statuspage"}
	}
	tl.add("2020-10-08T00:15:00Z", string(bot.KindPublicPublished), "U0COMMS", "published", pub("", "investigating", "Some stores cannot be reached."))
	tl.add("2020-10-08T00:20:00Z", string(bot.KindPublicRefused), "system", "refused", map[string]any{
		"reason": "Statuspage rejected the update as invalid (422 component not found)", "status": "identified",
		"page": "Atlassian Statuspage", "title": "Partial outage of api-gateway", "body": "We found the cause."})
	tl.add("2020-10-08T04:57:00Z", string(bot.KindPublicPublished), "U0COMMS", "published", pub("", "resolved", "All stores are back."))
	in.Events = tl
	md := string(render(t, in).Markdown)
	i := strings.Index(md, "## Communications")
	j := strings.Index(md, "## Trigger")
	if i < 0 || j < i {
		t.Fatalf("no communications section")
	}
	section := md[i:j]
	for _, want := range []string{
		"Public updates, as published to customers:",
		"- 2020-10-08 00:15 UTC, Cam Rivera (investigating, Atlassian Statuspage): Partial outage of api-gateway\n  > Some stores cannot be reached.",
		"- 2020-10-08 04:57 UTC, Cam Rivera (resolved, Atlassian Statuspage): Partial outage of api-gateway\n  > All stores are back.",
		"Refused by the status page, so customers never read them:",
		"- 2020-10-08 00:20 UTC, refused by Atlassian Statuspage (identified): Partial outage of api-gateway. Reason: Statuspage rejected the update as invalid (422 component not found)\n  > We found the cause.",
	} {
		if !strings.Contains(section, want) {
			t.Errorf("communications lack %q:\n%s", want, section)
		}
	}
	if strings.Count(section, "Atlassian Statuspage)") != 2 {
		t.Errorf("want exactly the two published updates listed:\n%s", section)
	}
}
