// Package ghfake is a wire-level fake of the GitHub REST API for one
// repository, for tests only.
//
// It is an httptest server answering GitHub's documented JSON, so code under
// test talks to it through the real go-github client:
//
//	srv := ghfake.New(t, "acme", "runbooks")
//	client := github.NewClient(nil).WithAuthToken(srv.Token())
//	client.BaseURL, _ = url.Parse(srv.URL()) // URL ends in "/", as go-github requires
//
// (In go-github v57 WithAuthToken modifies the *http.Client it is given:
// pass nil or a client of your own, never http.DefaultClient.)
//
// The repository starts with a default branch "main" holding one commit and
// no files; SeedFile adds files. Supported routes (see the Route constants):
// GET /repos/{o}/{r}; GET git/ref/{ref} and git/refs/{ref}; POST git/refs
// (422 "Reference already exists"); GET and PUT contents/{path} (a blob sha
// is required to replace a file: 422 when it is missing, 409 when stale);
// POST, GET (list, filter by head/base/state), GET one and PATCH pulls
// (422 "A pull request already exists for owner:branch." for a second open
// pull request from the same head, and "No commits between ..." when head
// and base point at the same commit); POST, GET and PATCH issues and POST
// issues/{n}/comments (issue and pull request numbers share one sequence, as
// on GitHub). Another owner/repo answers 404 "Not Found".
//
// Requests must carry "Authorization: Bearer <token>" or "token <token>" for
// a token the server knows (Token, AddToken), or get 401 "Bad credentials".
// Every response carries x-ratelimit-limit/remaining/used/reset/resource.
// Fail injects faults per route: 401, 404, 422 validation errors, the
// primary rate limit (403 or 429 with x-ratelimit-remaining: 0), the
// secondary rate limit (403 or 429 with retry-after), 5xx, or a delay that
// honours the request context. Note that go-github v57 turns only the 403
// forms into *github.RateLimitError and *github.AbuseRateLimitError; the 429
// forms come back as a plain *github.ErrorResponse.
//
// Every request is recorded (Calls); the resulting state is readable through
// File, Branches, PullRequests and Issues. API "url" fields and Location
// headers point at the fake; "html_url" fields point at github.com.
//
// All methods are safe for concurrent use.
package ghfake
