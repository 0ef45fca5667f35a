package pager_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/sitrep-io/sitrep/bot"
	"github.com/sitrep-io/sitrep/internal/pdfake"
	"github.com/sitrep-io/sitrep/pager"
)

const from = "sitrep-bot@example.com"

func newClient(t *testing.T, fake *pdfake.Server) *pager.Client {
	t.Helper()
	c, err := pager.New(pager.Config{Token: fake.Token(), From: from, APIURL: fake.URL()})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestNew_RequiresTokenAndFrom(t *testing.T) {
	if _, err := pager.New(pager.Config{From: from}); err == nil {
		t.Error("no token: want an error")
	}
	if _, err := pager.New(pager.Config{Token: "x", From: "not-an-email"}); err == nil {
		t.Error("bad From: want an error")
	}
}

func TestClient_AcknowledgeResolveNote(t *testing.T) {
	fake := pdfake.New(t)
	fake.AddIncident("PINC1", pdfake.StatusTriggered, "PEP1")
	c := newClient(t, fake)
	ctx := context.Background()
	if err := c.Acknowledge(ctx, "PINC1"); err != nil {
		t.Fatal(err)
	}
	if err := c.Acknowledge(ctx, "PINC1"); err != nil {
		t.Fatalf("already acknowledged (1002) must be success: %v", err)
	}
	if err := c.AddNote(ctx, "PINC1", "gateway config rolled back"); err != nil {
		t.Fatal(err)
	}
	if err := c.Resolve(ctx, "PINC1"); err != nil {
		t.Fatal(err)
	}
	if err := c.Resolve(ctx, "PINC1"); err != nil {
		t.Fatalf("already resolved (1001) must be success: %v", err)
	}
	inc, _ := fake.Incident("PINC1")
	if inc.Status != pdfake.StatusResolved || len(inc.Transitions) != 2 || inc.Transitions[0].By != from {
		t.Fatalf("incident: %s %+v", inc.Status, inc.Transitions)
	}
	if notes := fake.Notes("PINC1"); len(notes) != 1 || notes[0].Content != "gateway config rolled back" || notes[0].From != from {
		t.Fatalf("notes: %+v", notes)
	}
	for _, call := range fake.CallsTo(pdfake.RouteManageIncidents) {
		if call.Header.Get("From") != from {
			t.Errorf("PUT /incidents without From: %v", call.Header)
		}
	}
}

func TestClient_Errors(t *testing.T) {
	ctx := context.Background()
	t.Run("RateLimitedWithReset", func(t *testing.T) {
		fake := pdfake.New(t)
		fake.AddIncident("PINC1", pdfake.StatusTriggered, "PEP1")
		fake.Fail(pdfake.RouteManageIncidents, pdfake.RateLimited(30))
		err := newClient(t, fake).Acknowledge(ctx, "PINC1")
		if temp, after := bot.IsTemporary(err); !temp || after != 30*time.Second {
			t.Fatalf("429 with ratelimit-reset 30: temporary=%v after=%s (%v)", temp, after, err)
		}
	})
	t.Run("RateLimitedBare", func(t *testing.T) {
		fake := pdfake.New(t)
		fake.Fail(pdfake.RouteCreateNote, pdfake.RateLimited(0))
		if temp, _ := bot.IsTemporary(newClient(t, fake).AddNote(ctx, "PINC1", "x")); !temp {
			t.Fatal("a bare 429 must be temporary")
		}
	})
	t.Run("ServerError", func(t *testing.T) {
		fake := pdfake.New(t)
		fake.Fail(pdfake.RouteListOnCalls, pdfake.ServerError(503))
		_, err := newClient(t, fake).OnCall(ctx, "PEP1")
		if temp, _ := bot.IsTemporary(err); !temp {
			t.Fatalf("503 must be temporary: %v", err)
		}
	})
	t.Run("NotFoundIsPermanent", func(t *testing.T) {
		fake := pdfake.New(t)
		err := newClient(t, fake).Resolve(ctx, "PNOPE")
		if temp, _ := bot.IsTemporary(err); err == nil || temp {
			t.Fatalf("unknown incident: %v (temporary %v), want a permanent error", err, temp)
		}
	})
	t.Run("BadTokenIsPermanent", func(t *testing.T) {
		fake := pdfake.New(t)
		c, _ := pager.New(pager.Config{Token: "wrong", From: from, APIURL: fake.URL()})
		err := c.Acknowledge(ctx, "PINC1")
		if temp, _ := bot.IsTemporary(err); err == nil || temp {
			t.Fatalf("401: %v (temporary %v), want a permanent error", err, temp)
		}
	})
	t.Run("TransportIsTemporary", func(t *testing.T) {
		down := httptest.NewServer(http.NotFoundHandler())
		url := down.URL
		down.Close()
		c, _ := pager.New(pager.Config{Token: "x", From: from, APIURL: url})
		if temp, _ := bot.IsTemporary(c.Acknowledge(ctx, "PINC1")); !temp {
			t.Fatal("a connection failure must be temporary")
		}
	})
}

func TestClient_OnCall(t *testing.T) {
	fake := pdfake.New(t)
	fake.AddOnCall("PEP1", pdfake.User{ID: "PU2", Name: "Bob", Email: "bob@example.com"}, 2)
	fake.AddOnCall("PEP1", pdfake.User{ID: "PU1", Name: "Ada", Email: "ada@example.com"}, 1)
	fake.AddOnCall("PEP9", pdfake.User{ID: "PU3", Name: "Eve", Email: "eve@example.com"}, 1)
	users, err := newClient(t, fake).OnCall(context.Background(), "PEP1")
	if err != nil {
		t.Fatal(err)
	}
	want := []bot.OnCallUser{{ID: "PU1", Name: "Ada", Email: "ada@example.com", Level: 1}, {ID: "PU2", Name: "Bob", Email: "bob@example.com", Level: 2}}
	if len(users) != len(want) || users[0] != want[0] || users[1] != want[1] {
		t.Fatalf("got %+v, want %+v", users, want)
	}
	q := fake.CallsTo(pdfake.RouteListOnCalls)[0].Query
	if q.Get("include[]") != "users" || q.Get("escalation_policy_ids[]") != "PEP1" {
		t.Errorf("query %v: want include[]=users and the policy", q)
	}
}
