package ghfake_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-github/v57/github"

	"github.com/sitrep-io/sitrep/internal/ghfake"
)

const (
	owner = "acme"
	repo  = "runbooks"
)

func newClient(t *testing.T, srv *ghfake.Server, token string) *github.Client {
	t.Helper()
	c := github.NewClient(nil).WithAuthToken(token)
	u, err := url.Parse(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	c.BaseURL = u
	return c
}

func asErrorResponse(t *testing.T, err error, status int) *github.ErrorResponse {
	t.Helper()
	var er *github.ErrorResponse
	if !errors.As(err, &er) {
		t.Fatalf("err = %v (%T), want *github.ErrorResponse", err, err)
	}
	if er.Response.StatusCode != status {
		t.Fatalf("status = %d, want %d (%v)", er.Response.StatusCode, status, err)
	}
	return er
}

func TestURL(t *testing.T) {
	srv := ghfake.New(t, owner, repo)
	if !strings.HasSuffix(srv.URL(), "/") {
		t.Errorf("URL() = %q, want a trailing /", srv.URL())
	}
}

func TestBranchFilePullRequest(t *testing.T) {
	ctx := context.Background()
	srv := ghfake.New(t, owner, repo)
	gh := newClient(t, srv, srv.Token())
	const branch = "incident/INC-42"
	const path = "postmortems/INC-42.md"

	r, resp, err := gh.Repositories.Get(ctx, owner, repo)
	if err != nil {
		t.Fatal(err)
	}
	if r.GetDefaultBranch() != "main" || r.GetFullName() != owner+"/"+repo {
		t.Fatalf("repo = %v", r)
	}
	if resp.Rate.Limit != 5000 || resp.Rate.Remaining <= 0 || resp.Rate.Reset.IsZero() {
		t.Errorf("rate = %+v", resp.Rate)
	}

	base, _, err := gh.Git.GetRef(ctx, owner, repo, "heads/"+r.GetDefaultBranch())
	if err != nil {
		t.Fatal(err)
	}
	newRef := &github.Reference{Ref: github.String("refs/heads/" + branch), Object: &github.GitObject{SHA: base.Object.SHA}}
	created, resp, err := gh.Git.CreateRef(ctx, owner, repo, newRef)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusCreated || created.GetRef() != "refs/heads/"+branch || created.Object.GetSHA() != base.Object.GetSHA() {
		t.Fatalf("created = %v (%d)", created, resp.StatusCode)
	}
	t.Run("ErrRefExists", func(t *testing.T) {
		_, _, err := gh.Git.CreateRef(ctx, owner, repo, newRef)
		if er := asErrorResponse(t, err, http.StatusUnprocessableEntity); er.Message != "Reference already exists" {
			t.Errorf("message = %q", er.Message)
		}
	})
	t.Run("ErrNoCommitsBetween", func(t *testing.T) {
		_, _, err := gh.PullRequests.Create(ctx, owner, repo, &github.NewPullRequest{
			Title: github.String("t"), Head: github.String(branch), Base: github.String("main")})
		er := asErrorResponse(t, err, http.StatusUnprocessableEntity)
		if len(er.Errors) != 1 || !strings.HasPrefix(er.Errors[0].Message, "No commits between") {
			t.Errorf("errors = %+v", er.Errors)
		}
	})

	res, resp, err := gh.Repositories.CreateFile(ctx, owner, repo, path, &github.RepositoryContentFileOptions{
		Message: github.String("add postmortem"), Content: []byte("# INC-42\n"), Branch: github.String(branch),
	})
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusCreated || res.Content.GetPath() != path || res.Commit.GetSHA() == "" {
		t.Fatalf("create = %d %v", resp.StatusCode, res)
	}
	firstSHA := res.Content.GetSHA()
	// git hash-object of "# INC-42\n"
	if want := "d685907352ce1d3b01e9583721efb56c92d1d1bf"; firstSHA != want {
		t.Errorf("blob sha = %s, want %s", firstSHA, want)
	}

	fc, _, _, err := gh.Repositories.GetContents(ctx, owner, repo, path, &github.RepositoryContentGetOptions{Ref: branch})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := fc.GetContent(); got != "# INC-42\n" || fc.GetSHA() != firstSHA {
		t.Fatalf("contents = %q sha %s", got, fc.GetSHA())
	}
	t.Run("ErrMissingOnDefaultBranch", func(t *testing.T) {
		_, _, _, err := gh.Repositories.GetContents(ctx, owner, repo, path, nil)
		asErrorResponse(t, err, http.StatusNotFound)
	})

	t.Run("ErrStaleSHA", func(t *testing.T) {
		_, _, err := gh.Repositories.UpdateFile(ctx, owner, repo, path, &github.RepositoryContentFileOptions{
			Message: github.String("x"), Content: []byte("x"), Branch: github.String(branch),
			SHA: github.String("0000000000000000000000000000000000000000"),
		})
		asErrorResponse(t, err, http.StatusConflict)
	})
	t.Run("ErrMissingSHA", func(t *testing.T) {
		_, _, err := gh.Repositories.UpdateFile(ctx, owner, repo, path, &github.RepositoryContentFileOptions{
			Message: github.String("x"), Content: []byte("x"), Branch: github.String(branch),
		})
		asErrorResponse(t, err, http.StatusUnprocessableEntity)
	})

	res, resp, err = gh.Repositories.UpdateFile(ctx, owner, repo, path, &github.RepositoryContentFileOptions{
		Message: github.String("update"), Content: []byte("# INC-42\nroot cause\n"),
		Branch: github.String(branch), SHA: github.String(firstSHA),
	})
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || res.Content.GetSHA() == firstSHA {
		t.Fatalf("update = %d %v", resp.StatusCode, res)
	}
	if got, ok := srv.File(branch, path); !ok || got != "# INC-42\nroot cause\n" {
		t.Errorf("File = %q, %v", got, ok)
	}
	if _, ok := srv.File("main", path); ok {
		t.Error("file leaked onto main")
	}
	if b := srv.Branches(); len(b) != 2 || b[branch] == b["main"] {
		t.Errorf("branches = %v", b)
	}

	pr, resp, err := gh.PullRequests.Create(ctx, owner, repo, &github.NewPullRequest{
		Title: github.String("Postmortem INC-42"), Head: github.String(owner + ":" + branch),
		Base: github.String("main"), Body: github.String("draft"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusCreated || pr.GetNumber() != 1 || pr.GetState() != "open" ||
		pr.Head.GetRef() != branch || pr.Base.GetRef() != "main" || pr.GetHTMLURL() == "" {
		t.Fatalf("pr = %v", pr)
	}
	t.Run("ErrDuplicatePR", func(t *testing.T) {
		_, _, err := gh.PullRequests.Create(ctx, owner, repo, &github.NewPullRequest{
			Title: github.String("again"), Head: github.String(branch), Base: github.String("main")})
		er := asErrorResponse(t, err, http.StatusUnprocessableEntity)
		want := "A pull request already exists for acme:incident/INC-42."
		if er.Message != "Validation Failed" || len(er.Errors) != 1 || er.Errors[0].Message != want {
			t.Errorf("err = %+v", er)
		}
	})
	t.Run("ListByHead", func(t *testing.T) {
		prs, _, err := gh.PullRequests.List(ctx, owner, repo, &github.PullRequestListOptions{Head: owner + ":" + branch, State: "open"})
		if err != nil || len(prs) != 1 || prs[0].GetNumber() != pr.GetNumber() {
			t.Fatalf("prs = %v, %v", prs, err)
		}
		prs, _, err = gh.PullRequests.List(ctx, owner, repo, &github.PullRequestListOptions{Head: owner + ":other"})
		if err != nil || len(prs) != 0 {
			t.Fatalf("prs = %v, %v", prs, err)
		}
	})
	t.Run("EditPR", func(t *testing.T) {
		edited, _, err := gh.PullRequests.Edit(ctx, owner, repo, pr.GetNumber(), &github.PullRequest{
			Body: github.String("final"), State: github.String("closed")})
		if err != nil || edited.GetBody() != "final" || edited.GetState() != "closed" || edited.ClosedAt == nil {
			t.Fatalf("edited = %v, %v", edited, err)
		}
		got := srv.PullRequests()
		if len(got) != 1 || got[0].State != "closed" || got[0].Head != branch {
			t.Errorf("PullRequests = %+v", got)
		}
	})
}

func TestSeedFile(t *testing.T) {
	ctx := context.Background()
	srv := ghfake.New(t, owner, repo)
	sha := srv.SeedFile("main", "timeline.md", "hello")
	gh := newClient(t, srv, srv.Token())
	fc, _, _, err := gh.Repositories.GetContents(ctx, owner, repo, "timeline.md", nil)
	if err != nil {
		t.Fatal(err)
	}
	// git hash-object of "hello" (no newline)
	if fc.GetSHA() != sha || sha != "b6fc4c620b67d95f953a5c1c1230aaab5db5a1b0" {
		t.Errorf("sha = %s / %s", fc.GetSHA(), sha)
	}
	_, dir, _, err := gh.Repositories.GetContents(ctx, owner, repo, "", nil)
	if err != nil || len(dir) != 1 || dir[0].GetName() != "timeline.md" {
		t.Errorf("dir = %v, %v", dir, err)
	}
}

func TestIssues(t *testing.T) {
	ctx := context.Background()
	srv := ghfake.New(t, owner, repo)
	gh := newClient(t, srv, srv.Token())

	is, resp, err := gh.Issues.Create(ctx, owner, repo, &github.IssueRequest{
		Title: github.String("INC-42: checkout down"), Body: github.String("details"),
		Labels: &[]string{"incident", "sev1"}, Assignees: &[]string{"octocat"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusCreated || is.GetNumber() != 1 || is.GetState() != "open" ||
		len(is.Labels) != 2 || is.Labels[0].GetName() != "incident" || is.Assignee.GetLogin() != "octocat" ||
		is.User.GetLogin() != ghfake.DefaultLogin {
		t.Fatalf("issue = %v", is)
	}
	if loc := resp.Header.Get("Location"); !strings.HasSuffix(loc, "/repos/acme/runbooks/issues/1") {
		t.Errorf("Location = %q", loc)
	}

	edited, _, err := gh.Issues.Edit(ctx, owner, repo, 1, &github.IssueRequest{State: github.String("closed"), Labels: &[]string{"resolved"}})
	if err != nil {
		t.Fatal(err)
	}
	if edited.GetState() != "closed" || edited.GetStateReason() != "completed" || edited.ClosedAt == nil ||
		len(edited.Labels) != 1 || edited.GetTitle() != "INC-42: checkout down" {
		t.Fatalf("edited = %v", edited)
	}
	c, resp, err := gh.Issues.CreateComment(ctx, owner, repo, 1, &github.IssueComment{Body: github.String("resolved at 10:42")})
	if err != nil || resp.StatusCode != http.StatusCreated || c.GetBody() != "resolved at 10:42" {
		t.Fatalf("comment = %v, %v", c, err)
	}
	got, _, err := gh.Issues.Get(ctx, owner, repo, 1)
	if err != nil || got.GetComments() != 1 || got.GetState() != "closed" {
		t.Fatalf("get = %v, %v", got, err)
	}
	issues := srv.Issues()
	if len(issues) != 1 || len(issues[0].Comments) != 1 || issues[0].Labels[0] != "resolved" {
		t.Errorf("Issues = %+v", issues)
	}

	t.Run("ErrMissingTitle", func(t *testing.T) {
		_, _, err := gh.Issues.Create(ctx, owner, repo, &github.IssueRequest{Body: github.String("x")})
		er := asErrorResponse(t, err, http.StatusUnprocessableEntity)
		if len(er.Errors) != 1 || er.Errors[0].Field != "title" || er.Errors[0].Code != "missing_field" {
			t.Errorf("errors = %+v", er.Errors)
		}
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		_, _, err := gh.Issues.Get(ctx, owner, repo, 99)
		asErrorResponse(t, err, http.StatusNotFound)
	})
	t.Run("ErrUnknownRepo", func(t *testing.T) {
		_, _, err := gh.Issues.Create(ctx, owner, "other", &github.IssueRequest{Title: github.String("x")})
		if er := asErrorResponse(t, err, http.StatusNotFound); er.Message != "Not Found" {
			t.Errorf("message = %q", er.Message)
		}
	})
}

func TestAuth(t *testing.T) {
	ctx := context.Background()
	srv := ghfake.New(t, owner, repo)
	_, _, err := newClient(t, srv, "wrong").Repositories.Get(ctx, owner, repo)
	if er := asErrorResponse(t, err, http.StatusUnauthorized); er.Message != "Bad credentials" {
		t.Errorf("message = %q", er.Message)
	}
	srv.AddToken("other", "someone")
	is, _, err := newClient(t, srv, "other").Issues.Create(ctx, owner, repo, &github.IssueRequest{Title: github.String("x")})
	if err != nil || is.User.GetLogin() != "someone" {
		t.Fatalf("issue = %v, %v", is, err)
	}
	// "token <t>" is accepted as well as "Bearer <t>".
	req, _ := http.NewRequest(http.MethodGet, srv.URL()+"repos/acme/runbooks", nil)
	req.Header.Set("Authorization", "token "+srv.Token())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("token auth: %d", resp.StatusCode)
	}
}

func TestFaults(t *testing.T) {
	ctx := context.Background()
	issue := &github.IssueRequest{Title: github.String("x")}

	t.Run("PrimaryRateLimit403", func(t *testing.T) {
		srv := ghfake.New(t, owner, repo)
		reset := time.Now().Add(30 * time.Minute).Truncate(time.Second)
		srv.Fail(ghfake.RouteCreateIssue, ghfake.PrimaryRateLimit(http.StatusForbidden, reset))
		_, _, err := newClient(t, srv, srv.Token()).Issues.Create(ctx, owner, repo, issue)
		var rl *github.RateLimitError
		if !errors.As(err, &rl) {
			t.Fatalf("err = %v (%T), want *github.RateLimitError", err, err)
		}
		if rl.Rate.Remaining != 0 || !rl.Rate.Reset.Time.Equal(reset) {
			t.Errorf("rate = %+v", rl.Rate)
		}
	})
	t.Run("PrimaryRateLimit429", func(t *testing.T) {
		srv := ghfake.New(t, owner, repo)
		srv.Fail(ghfake.RouteCreateIssue, ghfake.PrimaryRateLimit(http.StatusTooManyRequests, time.Now().Add(time.Minute)))
		_, resp, err := newClient(t, srv, srv.Token()).Issues.Create(ctx, owner, repo, issue)
		// go-github v57 only types the 403 form; a 429 is a plain ErrorResponse.
		asErrorResponse(t, err, http.StatusTooManyRequests)
		if resp.Rate.Remaining != 0 {
			t.Errorf("rate = %+v", resp.Rate)
		}
	})
	t.Run("SecondaryRateLimit403", func(t *testing.T) {
		srv := ghfake.New(t, owner, repo)
		srv.Fail(ghfake.RouteCreateIssue, ghfake.SecondaryRateLimit(http.StatusForbidden, 60*time.Second))
		_, _, err := newClient(t, srv, srv.Token()).Issues.Create(ctx, owner, repo, issue)
		var ab *github.AbuseRateLimitError
		if !errors.As(err, &ab) {
			t.Fatalf("err = %v (%T), want *github.AbuseRateLimitError", err, err)
		}
		if ab.RetryAfter == nil || *ab.RetryAfter != 60*time.Second {
			t.Errorf("RetryAfter = %v", ab.RetryAfter)
		}
	})
	t.Run("SecondaryRateLimit429", func(t *testing.T) {
		srv := ghfake.New(t, owner, repo)
		srv.Fail(ghfake.RouteCreateIssue, ghfake.SecondaryRateLimit(http.StatusTooManyRequests, time.Minute))
		_, resp, err := newClient(t, srv, srv.Token()).Issues.Create(ctx, owner, repo, issue)
		asErrorResponse(t, err, http.StatusTooManyRequests)
		if resp.Header.Get("Retry-After") != "60" {
			t.Errorf("Retry-After = %q", resp.Header.Get("Retry-After"))
		}
	})

	srv := ghfake.New(t, owner, repo)
	gh := newClient(t, srv, srv.Token())
	t.Run("ValidationFailed", func(t *testing.T) {
		srv.Fail(ghfake.RouteCreateIssue, ghfake.ValidationFailed(ghfake.ValidationError{Resource: "Issue", Field: "labels", Code: "invalid"}))
		_, _, err := gh.Issues.Create(ctx, owner, repo, issue)
		er := asErrorResponse(t, err, http.StatusUnprocessableEntity)
		if len(er.Errors) != 1 || er.Errors[0].Field != "labels" {
			t.Errorf("errors = %+v", er.Errors)
		}
	})
	t.Run("BadCredentialsAndNotFound", func(t *testing.T) {
		srv.Fail(ghfake.AnyRoute, ghfake.BadCredentials())
		srv.Fail(ghfake.AnyRoute, ghfake.NotFound())
		_, _, err := gh.Repositories.Get(ctx, owner, repo)
		asErrorResponse(t, err, http.StatusUnauthorized)
		_, _, err = gh.Repositories.Get(ctx, owner, repo)
		asErrorResponse(t, err, http.StatusNotFound)
	})
	t.Run("ServerErrorTimes", func(t *testing.T) {
		srv.Fail(ghfake.RouteGetRepo, ghfake.ServerError(http.StatusBadGateway).Repeat(2))
		for i := 0; i < 2; i++ {
			_, _, err := gh.Repositories.Get(ctx, owner, repo)
			asErrorResponse(t, err, http.StatusBadGateway)
		}
		if _, _, err := gh.Repositories.Get(ctx, owner, repo); err != nil {
			t.Fatal(err)
		}
		calls := srv.CallsTo(ghfake.RouteGetRepo)
		if calls[len(calls)-2].Status != http.StatusBadGateway || calls[len(calls)-1].Status != http.StatusOK {
			t.Errorf("recorded statuses wrong: %+v", calls)
		}
	})
	t.Run("SlowRespectsContext", func(t *testing.T) {
		srv.Fail(ghfake.RouteGetRepo, ghfake.Slow(10*time.Second))
		ctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, _, err := gh.Repositories.Get(ctx, owner, repo)
		if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 5*time.Second {
			t.Fatalf("err = %v after %s", err, time.Since(start))
		}
	})
}

func TestConcurrentIssues(t *testing.T) {
	srv := ghfake.New(t, owner, repo)
	gh := newClient(t, srv, srv.Token())
	var wg sync.WaitGroup
	seen := sync.Map{}
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			is, _, err := gh.Issues.Create(context.Background(), owner, repo, &github.IssueRequest{Title: github.String("x")})
			if err != nil {
				t.Error(err)
				return
			}
			if _, dup := seen.LoadOrStore(is.GetNumber(), true); dup {
				t.Errorf("duplicate number %d", is.GetNumber())
			}
			_ = srv.Issues()
		}()
	}
	wg.Wait()
	if n := len(srv.Issues()); n != 20 {
		t.Errorf("issues = %d", n)
	}
}
