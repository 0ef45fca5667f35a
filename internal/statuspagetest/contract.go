// Package statuspagetest is the contract every bot.StatusPage keeps, run
// by each implementation's tests against its own backend: Statuspage's
// adapter against the fake API, the built-in page's Local as it is.
package statuspagetest

import (
	"testing"

	"github.com/sitrep-io/sitrep/bot"
)

// Update is a valid first public update.
var Update = bot.PublicUpdate{Title: "Partial outage of api-gateway", Body: "Some requests fail.", Status: bot.StatusInvestigating,
	Components: []bot.PublicComponent{{Name: "api-gateway", ID: "cmp1", Status: bot.ComponentPartialOutage}}}

// Run checks page. between is called between calls (to move a fake
// clock past a rate limit); it may be nil.
func Run(t *testing.T, page bot.StatusPage, between func()) {
	t.Helper()
	if between == nil {
		between = func() {}
	}
	if page.Name() == "" {
		t.Error("Name is empty: messages name the page")
	}
	ref, err := page.CreateIncident(t.Context(), Update)
	if err != nil || ref == "" {
		t.Fatalf("CreateIncident = %q, %v; want a non-empty ref", ref, err)
	}
	between()
	other, err := page.CreateIncident(t.Context(), Update)
	if err != nil || other == ref {
		t.Errorf("a second CreateIncident = %q, %v; want another ref than %q", other, err, ref)
	}
	between()
	next := Update
	next.Status, next.Body = bot.StatusIdentified, "The cause is found."
	if err := page.UpdateIncident(t.Context(), ref, next); err != nil {
		t.Errorf("UpdateIncident: %v", err)
	}
	between()
	resolved := Update
	resolved.Status, resolved.Body = bot.StatusResolved, "Fixed."
	resolved.Components = []bot.PublicComponent{{Name: "api-gateway", ID: "cmp1", Status: bot.ComponentOperational}}
	if err := page.UpdateIncident(t.Context(), ref, resolved); err != nil {
		t.Errorf("UpdateIncident (resolve): %v", err)
	}
}
