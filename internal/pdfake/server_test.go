package pdfake_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/PagerDuty/go-pagerduty"

	"github.com/sitrep-io/sitrep/internal/pdfake"
)

var (
	ada   = pdfake.User{ID: "PADA001", Name: "Ada Lovelace", Email: "ada@example.com"}
	grace = pdfake.User{ID: "PGRC001", Name: "Grace Hopper", Email: "grace@example.com"}
	linus = pdfake.User{ID: "PLIN001", Name: "Linus", Email: "linus@example.com"}
)

func newClient(srv *pdfake.Server) *pagerduty.Client {
	return pagerduty.NewClient(srv.Token(), pagerduty.WithAPIEndpoint(srv.URL()))
}

func asAPIError(t *testing.T, err error) pagerduty.APIError {
	t.Helper()
	var aerr pagerduty.APIError
	if !errors.As(err, &aerr) {
		t.Fatalf("err = %v (%T), want pagerduty.APIError", err, err)
	}
	return aerr
}

func TestURL(t *testing.T) {
	srv := pdfake.New(t)
	if strings.HasSuffix(srv.URL(), "/") {
		t.Errorf("URL() = %q ends in /", srv.URL())
	}
}

func TestListOnCalls(t *testing.T) {
	ctx := context.Background()
	srv := pdfake.New(t)
	start := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	srv.AddOnCall("PEP1", ada, 1, pdfake.OnSchedule("PSCH1", "Primary"), pdfake.Window(start, start.Add(24*time.Hour)))
	srv.AddOnCall("PEP1", grace, 2)
	srv.AddOnCall("PEP2", linus, 1)
	client := newClient(srv)

	t.Run("FilterByPolicy", func(t *testing.T) {
		resp, err := client.ListOnCallsWithContext(ctx, pagerduty.ListOnCallOptions{EscalationPolicyIDs: []string{"PEP1"}})
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.OnCalls) != 2 {
			t.Fatalf("got %d oncalls, want 2", len(resp.OnCalls))
		}
		oc := resp.OnCalls[0]
		if oc.User.ID != ada.ID || oc.User.Summary != ada.Name || oc.User.Type != "user_reference" || oc.User.Email != "" {
			t.Errorf("user = %+v, want a reference without email", oc.User)
		}
		if oc.EscalationLevel != 1 || oc.EscalationPolicy.ID != "PEP1" || oc.Schedule.ID != "PSCH1" {
			t.Errorf("oncall = %+v", oc)
		}
		if oc.Start != "2026-01-01T09:00:00Z" || oc.End != "2026-01-02T09:00:00Z" {
			t.Errorf("window = %s..%s", oc.Start, oc.End)
		}
		if resp.OnCalls[1].User.ID != grace.ID || resp.OnCalls[1].EscalationLevel != 2 {
			t.Errorf("second = %+v", resp.OnCalls[1])
		}
		if resp.Limit != 25 || resp.Offset != 0 || resp.More {
			t.Errorf("paging = %+v", resp.APIListObject)
		}
		q := srv.CallsTo(pdfake.RouteListOnCalls)[0].Query
		if got := q["escalation_policy_ids[]"]; len(got) != 1 || got[0] != "PEP1" {
			t.Errorf("query = %v", q)
		}
	})
	t.Run("IncludeUsers", func(t *testing.T) {
		resp, err := client.ListOnCallsWithContext(ctx, pagerduty.ListOnCallOptions{
			EscalationPolicyIDs: []string{"PEP2"}, Includes: []string{"users"},
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.OnCalls) != 1 || resp.OnCalls[0].User.Email != linus.Email || resp.OnCalls[0].User.Name != linus.Name {
			t.Fatalf("oncalls = %+v", resp.OnCalls)
		}
	})
	t.Run("Paging", func(t *testing.T) {
		resp, err := client.ListOnCallsWithContext(ctx, pagerduty.ListOnCallOptions{Limit: 2, Total: true})
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.OnCalls) != 2 || !resp.More || resp.Total != 3 {
			t.Errorf("page = %d more=%v total=%d", len(resp.OnCalls), resp.More, resp.Total)
		}
	})
	t.Run("UnknownPolicy", func(t *testing.T) {
		resp, err := client.ListOnCallsWithContext(ctx, pagerduty.ListOnCallOptions{EscalationPolicyIDs: []string{"PNOPE"}})
		if err != nil || len(resp.OnCalls) != 0 {
			t.Fatalf("resp=%+v err=%v", resp, err)
		}
	})
}

func TestGetUser(t *testing.T) {
	srv := pdfake.New(t)
	srv.AddUser(ada)
	client := newClient(srv)
	u, err := client.GetUserWithContext(context.Background(), ada.ID, pagerduty.GetUserOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if u.Email != ada.Email || u.Name != ada.Name || u.ID != ada.ID {
		t.Errorf("user = %+v", u)
	}
	_, err = client.GetUserWithContext(context.Background(), "PNOPE", pagerduty.GetUserOptions{})
	if aerr := asAPIError(t, err); !aerr.NotFound() {
		t.Errorf("err = %v, want not found", aerr)
	}
}

func TestManageIncidents(t *testing.T) {
	ctx := context.Background()
	srv := pdfake.New(t)
	srv.AddOnCall("PEP1", ada, 1)
	srv.AddIncident("PINC1", pdfake.StatusTriggered, "PEP1", pdfake.Title("DB down"), pdfake.Key("dedup-1"))
	client := newClient(srv)

	t.Run("AcknowledgeThenResolve", func(t *testing.T) {
		resp, err := client.ManageIncidentsWithContext(ctx, ada.Email, []pagerduty.ManageIncidentsOptions{{ID: "PINC1", Status: "acknowledged"}})
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.Incidents) != 1 || resp.Incidents[0].Status != "acknowledged" || resp.Incidents[0].Title != "DB down" {
			t.Fatalf("incidents = %+v", resp.Incidents)
		}
		if acks := resp.Incidents[0].Acknowledgements; len(acks) != 1 || acks[0].Acknowledger.ID != ada.ID {
			t.Errorf("acknowledgements = %+v", acks)
		}
		if _, err := client.ManageIncidentsWithContext(ctx, ada.Email, []pagerduty.ManageIncidentsOptions{{ID: "PINC1", Status: "resolved"}}); err != nil {
			t.Fatal(err)
		}
		inc, _ := srv.Incident("PINC1")
		if inc.Status != pdfake.StatusResolved || len(inc.Transitions) != 2 {
			t.Fatalf("incident = %+v", inc)
		}
		if tr := inc.Transitions[0]; tr.From != "triggered" || tr.To != "acknowledged" || tr.By != ada.Email {
			t.Errorf("transition = %+v", tr)
		}
		got, err := client.GetIncidentWithContext(ctx, "PINC1")
		if err != nil || got.Status != "resolved" || got.IncidentKey != "dedup-1" || got.ResolvedAt == "" {
			t.Errorf("GetIncident = %+v, %v", got, err)
		}
	})
	t.Run("ErrAlreadyResolved", func(t *testing.T) {
		_, err := client.ManageIncidentsWithContext(ctx, ada.Email, []pagerduty.ManageIncidentsOptions{{ID: "PINC1", Status: "acknowledged"}})
		aerr := asAPIError(t, err)
		if aerr.StatusCode != http.StatusBadRequest || !aerr.APIError.Valid || aerr.APIError.ErrorObject.Code != 1001 {
			t.Errorf("err = %+v", aerr)
		}
	})
	t.Run("ErrAlreadyAcknowledged", func(t *testing.T) {
		srv.AddIncident("PINC2", pdfake.StatusAcknowledged, "PEP1")
		_, err := client.ManageIncidentsWithContext(ctx, ada.Email, []pagerduty.ManageIncidentsOptions{{ID: "PINC2", Status: "acknowledged"}})
		if aerr := asAPIError(t, err); aerr.APIError.ErrorObject.Code != 1002 {
			t.Errorf("err = %+v", aerr)
		}
	})
	t.Run("AtomicBatch", func(t *testing.T) {
		srv.AddIncident("PINC3", pdfake.StatusTriggered, "PEP1")
		_, err := client.ManageIncidentsWithContext(ctx, ada.Email, []pagerduty.ManageIncidentsOptions{
			{ID: "PINC3", Status: "acknowledged"}, {ID: "PINC1", Status: "resolved"},
		})
		asAPIError(t, err)
		if inc, _ := srv.Incident("PINC3"); inc.Status != pdfake.StatusTriggered {
			t.Errorf("PINC3 changed to %s despite the failed batch", inc.Status)
		}
	})
	t.Run("ErrMissingFrom", func(t *testing.T) {
		_, err := client.ManageIncidentsWithContext(ctx, "", []pagerduty.ManageIncidentsOptions{{ID: "PINC3", Status: "acknowledged"}})
		aerr := asAPIError(t, err)
		if aerr.StatusCode != http.StatusBadRequest || aerr.APIError.ErrorObject.Code != 2011 {
			t.Errorf("err = %+v", aerr)
		}
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		_, err := client.ManageIncidentsWithContext(ctx, ada.Email, []pagerduty.ManageIncidentsOptions{{ID: "PNOPE", Status: "resolved"}})
		if aerr := asAPIError(t, err); !aerr.NotFound() {
			t.Errorf("err = %+v", aerr)
		}
	})
}

func TestRequireKnownFrom(t *testing.T) {
	srv := pdfake.New(t)
	srv.RequireKnownFrom()
	srv.AddUser(ada)
	srv.AddIncident("PINC1", pdfake.StatusTriggered, "PEP1")
	client := newClient(srv)
	_, err := client.ManageIncidentsWithContext(context.Background(), "stranger@example.com",
		[]pagerduty.ManageIncidentsOptions{{ID: "PINC1", Status: "acknowledged"}})
	if aerr := asAPIError(t, err); aerr.APIError.ErrorObject.Code != 1008 {
		t.Errorf("err = %+v", aerr)
	}
}

// updateIncident calls PUT /incidents/{id} over plain HTTP: go-pagerduty
// v1.8.0 has no status update for a single incident.
func updateIncident(t *testing.T, srv *pdfake.Server, id, from, body string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPut, srv.URL()+"/incidents/"+id, strings.NewReader(body))
	req.Header.Set("Authorization", "Token token="+srv.Token())
	req.Header.Set("Content-Type", "application/json")
	if from != "" {
		req.Header.Set("From", from)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

func TestUpdateIncident(t *testing.T) {
	srv := pdfake.New(t)
	srv.AddIncident("PINC1", pdfake.StatusTriggered, "PEP1")
	const ackBody = `{"incident":{"type":"incident_reference","status":"acknowledged"}}`
	if resp := updateIncident(t, srv, "PINC1", "", ackBody); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("missing From: status %d", resp.StatusCode)
	}
	if resp := updateIncident(t, srv, "PINC1", ada.Email, ackBody); resp.StatusCode != http.StatusOK {
		t.Errorf("status %d", resp.StatusCode)
	}
	if inc, _ := srv.Incident("PINC1"); inc.Status != pdfake.StatusAcknowledged {
		t.Errorf("status = %s", inc.Status)
	}
}

func TestCreateIncidentNote(t *testing.T) {
	ctx := context.Background()
	srv := pdfake.New(t)
	srv.AddUser(ada)
	srv.AddIncident("PINC1", pdfake.StatusTriggered, "PEP1")
	client := newClient(srv)

	t.Run("OK", func(t *testing.T) {
		note, err := client.CreateIncidentNoteWithContext(ctx, "PINC1", pagerduty.IncidentNote{
			Content: "Firefighters are on the scene.", User: pagerduty.APIObject{Summary: ada.Email},
		})
		if err != nil {
			t.Fatal(err)
		}
		if note.ID == "" || note.Content != "Firefighters are on the scene." || note.User.ID != ada.ID || note.CreatedAt == "" {
			t.Errorf("note = %+v", note)
		}
		notes := srv.Notes("PINC1")
		if len(notes) != 1 || notes[0].From != ada.Email || notes[0].ID != note.ID {
			t.Errorf("recorded = %+v", notes)
		}
	})
	t.Run("ErrMissingFrom", func(t *testing.T) {
		_, err := client.CreateIncidentNoteWithContext(ctx, "PINC1", pagerduty.IncidentNote{Content: "x"})
		if aerr := asAPIError(t, err); aerr.APIError.ErrorObject.Code != 2011 {
			t.Errorf("err = %+v", aerr)
		}
	})
	t.Run("ErrEmptyContent", func(t *testing.T) {
		_, err := client.CreateIncidentNoteWithContext(ctx, "PINC1", pagerduty.IncidentNote{User: pagerduty.APIObject{Summary: ada.Email}})
		if aerr := asAPIError(t, err); aerr.StatusCode != http.StatusBadRequest {
			t.Errorf("err = %+v", aerr)
		}
	})
}

func TestAuth(t *testing.T) {
	srv := pdfake.New(t)
	client := pagerduty.NewClient("wrong-key", pagerduty.WithAPIEndpoint(srv.URL()))
	_, err := client.ListOnCallsWithContext(context.Background(), pagerduty.ListOnCallOptions{})
	aerr := asAPIError(t, err)
	if aerr.StatusCode != http.StatusUnauthorized || aerr.APIError.ErrorObject.Code != 2006 {
		t.Errorf("err = %+v", aerr)
	}
	srv.AddToken("wrong-key")
	if _, err := client.ListOnCallsWithContext(context.Background(), pagerduty.ListOnCallOptions{}); err != nil {
		t.Errorf("after AddToken: %v", err)
	}
	// The header format must match exactly.
	req, _ := http.NewRequest(http.MethodGet, srv.URL()+"/oncalls", nil)
	req.Header.Set("Authorization", "Bearer "+srv.Token())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("Bearer: status %d", resp.StatusCode)
	}
}

func TestFaults(t *testing.T) {
	ctx := context.Background()
	srv := pdfake.New(t)
	srv.AddIncident("PINC1", pdfake.StatusTriggered, "PEP1")
	client := newClient(srv)
	ack := []pagerduty.ManageIncidentsOptions{{ID: "PINC1", Status: "acknowledged"}}

	t.Run("RateLimited", func(t *testing.T) {
		srv.Fail(pdfake.RouteManageIncidents, pdfake.RateLimited(20).Repeat(2))
		for i := 0; i < 2; i++ {
			_, err := client.ManageIncidentsWithContext(ctx, ada.Email, ack)
			aerr := asAPIError(t, err)
			if !aerr.RateLimited() || !aerr.Temporary() || aerr.APIError.ErrorObject.Code != 2020 {
				t.Fatalf("attempt %d: err = %+v", i, aerr)
			}
		}
		calls := srv.CallsTo(pdfake.RouteManageIncidents)
		if h := calls[len(calls)-1]; h.Status != http.StatusTooManyRequests {
			t.Errorf("recorded status %d", h.Status)
		}
		if _, err := client.ManageIncidentsWithContext(ctx, ada.Email, ack); err != nil {
			t.Fatalf("third attempt: %v", err)
		}
	})
	t.Run("RateLimitHeaders", func(t *testing.T) {
		srv.Fail(pdfake.RouteListOnCalls, pdfake.RateLimited(20))
		req, _ := http.NewRequest(http.MethodGet, srv.URL()+"/oncalls", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.Header.Get("ratelimit-reset") != "20" || resp.Header.Get("ratelimit-remaining") != "0" {
			t.Errorf("headers = %v", resp.Header)
		}
	})
	t.Run("ServerError", func(t *testing.T) {
		srv.Fail(pdfake.AnyRoute, pdfake.ServerError(http.StatusServiceUnavailable))
		_, err := client.GetIncidentWithContext(ctx, "PINC1")
		if aerr := asAPIError(t, err); aerr.StatusCode != 503 || !aerr.Temporary() {
			t.Errorf("err = %+v", aerr)
		}
		if _, err := client.GetIncidentWithContext(ctx, "PINC1"); err != nil {
			t.Errorf("second call: %v", err)
		}
	})
	t.Run("SlowRespectsContext", func(t *testing.T) {
		srv.Fail(pdfake.RouteGetIncident, pdfake.Slow(10*time.Second))
		ctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := client.GetIncidentWithContext(ctx, "PINC1")
		if err == nil || time.Since(start) > 5*time.Second {
			t.Fatalf("err=%v after %s", err, time.Since(start))
		}
	})
	t.Run("SlowThenOK", func(t *testing.T) {
		srv.Fail(pdfake.RouteGetIncident, pdfake.Slow(20*time.Millisecond))
		if _, err := client.GetIncidentWithContext(ctx, "PINC1"); err != nil {
			t.Fatal(err)
		}
	})
}

func TestConcurrentNotes(t *testing.T) {
	srv := pdfake.New(t)
	srv.AddIncident("PINC1", pdfake.StatusTriggered, "PEP1")
	client := newClient(srv)
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := client.CreateIncidentNoteWithContext(context.Background(), "PINC1",
				pagerduty.IncidentNote{Content: "note", User: pagerduty.APIObject{Summary: ada.Email}})
			if err != nil {
				t.Error(err)
			}
			_ = srv.Calls()
		}()
	}
	wg.Wait()
	if n := len(srv.Notes("PINC1")); n != 20 {
		t.Errorf("notes = %d", n)
	}
}
