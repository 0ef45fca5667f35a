package ghexport_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sitrep-io/sitrep/bot"
	"github.com/sitrep-io/sitrep/ghexport"
	"github.com/sitrep-io/sitrep/internal/ghfake"
)

const owner, repo = "acme", "postmortems"

var inc = bot.Incident{ID: 7, Title: "Platform API returning 500", Severity: bot.SEV1,
	DeclaredAt: time.Date(2020, 10, 8, 0, 6, 0, 0, time.UTC)}

func newExporter(t *testing.T, srv *ghfake.Server, mode string) *ghexport.Exporter {
	t.Helper()
	e, err := ghexport.New(ghexport.Config{Token: srv.Token(), Repo: owner + "/" + repo, APIURL: strings.TrimSuffix(srv.URL(), "/"),
		Mode: mode, Labels: []string{"postmortem"}, FollowUpLabels: []string{"follow-up"}})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func doc(text string) bot.File {
	return bot.File{Name: "INC-7-postmortem.md", Content: []byte(text)}
}

func TestFileModeCreatesThenUpdates(t *testing.T) {
	ctx := t.Context()
	srv := ghfake.New(t, owner, repo)
	e := newExporter(t, srv, "")
	exp, err := e.PublishPostmortem(ctx, inc, doc("# first draft\n"), bot.PostmortemExport{})
	if err != nil {
		t.Fatal(err)
	}
	path, branch := "postmortems/2020-10-08-inc-7-platform-api-returning-500.md", "sitrep/postmortem-inc-7"
	if exp.Mode != "file" || exp.Path != path || exp.Branch != branch || exp.PRNumber != 1 ||
		exp.PRURL != "https://github.com/acme/postmortems/pull/1" || !strings.HasSuffix(exp.FileURL, path) {
		t.Fatalf("export = %+v", exp)
	}
	if got, _ := srv.File(branch, path); got != "# first draft\n" {
		t.Errorf("file on %s = %q", branch, got)
	}
	if _, onMain := srv.File("main", path); onMain {
		t.Error("the draft was committed to main, not to its branch")
	}
	prs := srv.PullRequests()
	if len(prs) != 1 || prs[0].Head != branch || prs[0].Base != "main" || !strings.Contains(prs[0].Title, "INC-7") {
		t.Fatalf("pull requests = %+v", prs)
	}

	// Exporting again updates the same file (with its blob sha) and PR.
	again, err := e.PublishPostmortem(ctx, inc, doc("# second draft\n"), exp)
	if err != nil {
		t.Fatal(err)
	}
	if again.PRNumber != exp.PRNumber || again.Path != path || again.Branch != branch {
		t.Errorf("re-export = %+v, want the same PR and file as %+v", again, exp)
	}
	if got, _ := srv.File(branch, path); got != "# second draft\n" {
		t.Errorf("file after re-export = %q", got)
	}
	if n := len(srv.PullRequests()); n != 1 {
		t.Errorf("%d pull requests after re-export, want 1", n)
	}
	if n := len(srv.CallsTo(ghfake.RouteCreateRef)); n != 1 {
		t.Errorf("branch created %d times", n)
	}
	// Unchanged content is not committed again.
	puts := len(srv.CallsTo(ghfake.RoutePutContents))
	if _, err := e.PublishPostmortem(ctx, inc, doc("# second draft\n"), again); err != nil {
		t.Fatal(err)
	}
	if n := len(srv.CallsTo(ghfake.RoutePutContents)); n != puts {
		t.Errorf("an unchanged draft was committed again (%d → %d commits)", puts, n)
	}
}

// A retry after a failure part-way finds the branch, file and pull request
// the earlier attempt made, even without the export record.
func TestFileModeResumesAfterPartialFailure(t *testing.T) {
	ctx := t.Context()
	srv := ghfake.New(t, owner, repo)
	e := newExporter(t, srv, "file")
	srv.Fail(ghfake.RouteCreatePull, ghfake.ServerError(http.StatusBadGateway))
	_, err := e.PublishPostmortem(ctx, inc, doc("# draft\n"), bot.PostmortemExport{})
	if temp, _ := bot.IsTemporary(err); !temp {
		t.Fatalf("a 502 should be temporary, got %v", err)
	}
	exp, err := e.PublishPostmortem(ctx, inc, doc("# draft\n"), bot.PostmortemExport{})
	if err != nil {
		t.Fatal(err)
	}
	if exp.PRNumber == 0 || len(srv.PullRequests()) != 1 || len(srv.CallsTo(ghfake.RoutePutContents)) != 1 {
		t.Errorf("retry: export %+v, %d PRs, %d commits", exp, len(srv.PullRequests()), len(srv.CallsTo(ghfake.RoutePutContents)))
	}
	// Without the record, a later export finds the open PR by its branch.
	if _, err := e.PublishPostmortem(ctx, inc, doc("# draft 2\n"), bot.PostmortemExport{}); err != nil {
		t.Fatal(err)
	}
	if n := len(srv.PullRequests()); n != 1 {
		t.Errorf("%d pull requests, want 1", n)
	}
}

func TestIssueModeCreatesThenUpdates(t *testing.T) {
	ctx := t.Context()
	srv := ghfake.New(t, owner, repo)
	e := newExporter(t, srv, "issue")
	exp, err := e.PublishPostmortem(ctx, inc, doc("# draft one\n"), bot.PostmortemExport{})
	if err != nil {
		t.Fatal(err)
	}
	if exp.Mode != "issue" || exp.IssueNumber != 1 || exp.IssueURL != "https://github.com/acme/postmortems/issues/1" || exp.URL() != exp.IssueURL {
		t.Fatalf("export = %+v", exp)
	}
	again, err := e.PublishPostmortem(ctx, inc, doc("# draft two\n"), exp)
	if err != nil {
		t.Fatal(err)
	}
	issues := srv.Issues()
	if again.IssueNumber != 1 || len(issues) != 1 || issues[0].Body != "# draft two\n" ||
		!slices.Equal(issues[0].Labels, []string{"postmortem"}) || !strings.Contains(issues[0].Title, "INC-7") {
		t.Errorf("after re-export: %+v, issues %+v", again, issues)
	}
	if len(srv.PullRequests()) != 0 || len(srv.Branches()) != 1 {
		t.Error("issue mode touched branches or pull requests")
	}
}

func TestFollowUpIssues(t *testing.T) {
	ctx := t.Context()
	srv := ghfake.New(t, owner, repo)
	e := newExporter(t, srv, "file")
	f := bot.FollowUp{ID: 1, IncidentID: 7, Text: "Alert on certificate renewal failures", CreatedAt: inc.DeclaredAt}
	ref, err := e.PublishFollowUp(ctx, inc, f, "")
	if err != nil {
		t.Fatal(err)
	}
	is := srv.Issues()
	if ref.Number != 1 || len(is) != 1 || !strings.Contains(is[0].Title, "INC-7 follow-up: Alert on certificate renewal failures") ||
		!strings.Contains(is[0].Body, "Owner: none yet") || !slices.Equal(is[0].Labels, []string{"follow-up"}) {
		t.Fatalf("ref %+v, issues %+v", ref, is)
	}
	f.IssueNumber, f.IssueURL, f.Owner = ref.Number, ref.URL, "U2"
	again, err := e.PublishFollowUp(ctx, inc, f, "Dev Patel")
	if err != nil {
		t.Fatal(err)
	}
	is = srv.Issues()
	if again != ref || len(is) != 1 || !strings.Contains(is[0].Body, "Owner: Dev Patel") {
		t.Errorf("update: ref %+v, issues %+v", again, is)
	}
}

func TestErrors(t *testing.T) {
	ctx := t.Context()
	cases := []struct {
		name      string
		route     string
		fault     ghfake.Fault
		temporary bool
		code      string
		mentions  string
		minWait   time.Duration
	}{
		{"401", ghfake.AnyRoute, ghfake.BadCredentials(), false, bot.EUNAUTHORIZED, "GITHUB_TOKEN", 0},
		{"404", ghfake.RouteGetRepo, ghfake.NotFound(), false, bot.ENOTFOUND, "GITHUB_REPO (acme/postmortems)", 0},
		{"422", ghfake.RouteCreatePull, ghfake.ValidationFailed(ghfake.ValidationError{Resource: "PullRequest", Field: "base", Code: "invalid"}),
			false, bot.EINVALID, "PullRequest base invalid", 0},
		{"primary rate limit 403", ghfake.RouteGetRepo, ghfake.PrimaryRateLimit(http.StatusForbidden, time.Now().Add(30*time.Minute)),
			true, "", "rate limit", 29 * time.Minute},
		{"primary rate limit 429", ghfake.RouteGetRepo, ghfake.PrimaryRateLimit(http.StatusTooManyRequests, time.Now().Add(30*time.Minute)),
			true, "", "rate limit", 29 * time.Minute},
		{"secondary rate limit 403", ghfake.RouteGetRepo, ghfake.SecondaryRateLimit(http.StatusForbidden, 90*time.Second),
			true, "", "secondary rate limit", 90 * time.Second},
		{"secondary rate limit 429", ghfake.RouteGetRepo, ghfake.SecondaryRateLimit(http.StatusTooManyRequests, 90*time.Second),
			true, "", "rate limit", 90 * time.Second},
		{"5xx", ghfake.RoutePutContents, ghfake.ServerError(http.StatusServiceUnavailable), true, "", "503", 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := ghfake.New(t, owner, repo)
			e := newExporter(t, srv, "file")
			srv.Fail(tc.route, tc.fault)
			_, err := e.PublishPostmortem(ctx, inc, doc("# draft\n"), bot.PostmortemExport{})
			if err == nil {
				t.Fatal("no error")
			}
			temp, wait := bot.IsTemporary(err)
			if temp != tc.temporary || wait < tc.minWait {
				t.Errorf("temporary = %v (wait %s), want %v (≥ %s): %v", temp, wait, tc.temporary, tc.minWait, err)
			}
			if !tc.temporary && bot.ErrorCode(err) != tc.code {
				t.Errorf("code = %s, want %s: %v", bot.ErrorCode(err), tc.code, err)
			}
			msg := err.Error()
			if !tc.temporary {
				msg = bot.ErrorMessage(err)
			}
			if !strings.Contains(msg, tc.mentions) {
				t.Errorf("message %q does not mention %q", msg, tc.mentions)
			}
			if strings.Contains(msg, srv.Token()) {
				t.Error("the token leaked into the message")
			}
		})
	}
	t.Run("labels 422 on a follow-up", func(t *testing.T) {
		srv := ghfake.New(t, owner, repo)
		e := newExporter(t, srv, "file")
		srv.Fail(ghfake.RouteCreateIssue, ghfake.ValidationFailed(ghfake.ValidationError{Resource: "Issue", Field: "labels", Code: "invalid"}))
		_, err := e.PublishFollowUp(ctx, inc, bot.FollowUp{ID: 1, Text: "x"}, "")
		if bot.ErrorCode(err) != bot.EINVALID || !strings.Contains(bot.ErrorMessage(err), "GITHUB_FOLLOWUP_LABELS") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("network", func(t *testing.T) {
		srv := ghfake.New(t, owner, repo)
		e := newExporter(t, srv, "file")
		srv.Fail(ghfake.RouteGetRepo, ghfake.Slow(10*time.Second))
		ctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		defer cancel()
		_, err := e.PublishPostmortem(ctx, inc, doc("# draft\n"), bot.PostmortemExport{})
		if temp, _ := bot.IsTemporary(err); !temp || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("a timeout should be temporary: %v", err)
		}
	})
}

func TestConfig(t *testing.T) {
	for _, cfg := range []ghexport.Config{
		{Token: "t", Repo: "acme"},
		{Token: "t", Repo: "acme/x/y"},
		{Repo: "acme/x"},
		{Token: "t", Repo: "acme/x", Mode: "wiki"},
		{Token: "t", Repo: "acme/x", APIURL: "ftp://example.com/"},
	} {
		if _, err := ghexport.New(cfg); err == nil {
			t.Errorf("New(%+v) accepted", cfg)
		}
	}
	// WithAuthToken must not change a client it did not create.
	shared := &http.Client{}
	if _, err := ghexport.New(ghexport.Config{Token: "t", Repo: "acme/x", HTTPClient: shared}); err != nil {
		t.Fatal(err)
	}
	if shared.Transport != nil {
		t.Error("the caller's http.Client was modified")
	}
	if got := ghexport.FilePath(bot.Incident{ID: 3, Title: "Checkout: 5xx!", DeclaredAt: inc.DeclaredAt}); got != "postmortems/2020-10-08-inc-3-checkout-5xx.md" {
		t.Errorf("FilePath = %q", got)
	}
}
