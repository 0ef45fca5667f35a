// Package pdfake is a wire-level fake of the PagerDuty REST API v2 and a
// builder of signed PagerDuty v3 webhooks, for tests only.
//
// The fake is an httptest server answering the documented JSON shapes, so
// code under test talks to it through the real go-pagerduty client:
//
//	srv := pdfake.New(t)
//	srv.AddUser(pdfake.User{ID: "PU1", Name: "Ada", Email: "ada@example.com"})
//	srv.AddOnCall("PEP1", pdfake.User{ID: "PU1", Name: "Ada", Email: "ada@example.com"}, 1)
//	srv.AddIncident("PINC1", pdfake.StatusTriggered, "PEP1", pdfake.Title("DB down"))
//	client := pagerduty.NewClient(srv.Token(), pagerduty.WithAPIEndpoint(srv.URL()))
//
// URL has no trailing slash, as go-pagerduty's WithAPIEndpoint requires.
//
// Supported routes (see the Route constants): GET /oncalls (filters
// escalation_policy_ids[], user_ids[], schedule_ids[], include[]=users,
// limit/offset/total), GET /users/{id}, GET /incidents/{id}, PUT /incidents,
// PUT /incidents/{id} and POST /incidents/{id}/notes. Every request must carry
// "Authorization: Token token=<key>" for a key the server knows (Token,
// AddToken), or it gets 401. The three write routes require a From header
// (400, code 2011, when it is missing). Already-resolved incidents answer
// code 1001 and already-acknowledged ones code 1002, both with HTTP 400 (the
// PagerDuty docs do not state the status; 400 is an assumption). A PUT
// /incidents naming several incidents is validated as a whole: if one entry
// fails, nothing changes.
//
// Every request is recorded (Calls); state changes and notes are readable
// through Incident and Notes. Fail injects faults per route: rate limiting
// (429, code 2020, optional ratelimit-reset header), 5xx, or a delay that
// honours the request context, for a given number of requests.
//
// For the bot's inbound webhook handler tests, Event builds a v3 incident
// event body, SignV3 computes the X-PagerDuty-Signature value and
// WebhookRequest wraps both in a ready-to-serve *http.Request.
//
// All methods are safe for concurrent use.
package pdfake
