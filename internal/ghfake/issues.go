package ghfake

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Issue is an issue created through the API.
type Issue struct {
	Number      int
	Title       string
	Body        string
	State       string // "open" or "closed"
	StateReason string
	Labels      []string
	Assignees   []string
	User        string
	Comments    []Comment
	CreatedAt   time.Time
	UpdatedAt   time.Time
	ClosedAt    time.Time
}

// PullRequest is a pull request created through the API.
type PullRequest struct {
	Number    int
	Title     string
	Body      string
	State     string // "open" or "closed"
	Head      string // branch name
	Base      string // branch name
	Draft     bool
	User      string
	Comments  []Comment
	CreatedAt time.Time
	UpdatedAt time.Time
	ClosedAt  time.Time
}

// Comment is an issue or pull request comment created through the API.
type Comment struct {
	ID        int64
	Body      string
	User      string
	CreatedAt time.Time
}

// Issues returns copies of every issue, by number.
func (s *Server) Issues() []Issue {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Issue, 0, len(s.issues))
	for _, is := range s.issues {
		c := *is
		c.Labels, c.Assignees = slices.Clone(is.Labels), slices.Clone(is.Assignees)
		c.Comments = slices.Clone(is.Comments)
		out = append(out, c)
	}
	return out
}

// PullRequests returns copies of every pull request, by number.
func (s *Server) PullRequests() []PullRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]PullRequest, 0, len(s.pulls))
	for _, pr := range s.pulls {
		c := *pr
		c.Comments = slices.Clone(pr.Comments)
		out = append(out, c)
	}
	return out
}

func timeOrNil(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.Format(time.RFC3339)
}

func (s *Server) labelsJSON(names []string) []map[string]any {
	out := []map[string]any{}
	for i, n := range names {
		out = append(out, map[string]any{"id": 208045946 + i, "node_id": "LA_fake", "url": s.apiURL("/labels/%s", n),
			"name": n, "color": "ededed", "default": false, "description": nil})
	}
	return out
}

func (s *Server) issueJSON(is *Issue) map[string]any {
	assignees := []map[string]any{}
	for _, a := range is.Assignees {
		assignees = append(assignees, s.userJSON(a))
	}
	var assignee any
	if len(assignees) > 0 {
		assignee = assignees[0]
	}
	var stateReason any
	if is.StateReason != "" {
		stateReason = is.StateReason
	}
	var closedBy any
	if is.State == "closed" {
		closedBy = s.userJSON(is.User)
	}
	u := s.apiURL("/issues/%d", is.Number)
	return map[string]any{
		"url": u, "repository_url": s.apiURL(""), "labels_url": u + "/labels{/name}",
		"comments_url": u + "/comments", "events_url": u + "/events", "html_url": s.htmlURL("/issues/%d", is.Number),
		"id": 1000 + is.Number, "node_id": "I_fake" + strconv.Itoa(is.Number), "number": is.Number,
		"title": is.Title, "user": s.userJSON(is.User), "labels": s.labelsJSON(is.Labels),
		"state": is.State, "locked": false, "assignee": assignee, "assignees": assignees,
		"milestone": nil, "comments": len(is.Comments),
		"created_at": is.CreatedAt.Format(time.RFC3339), "updated_at": is.UpdatedAt.Format(time.RFC3339),
		"closed_at": timeOrNil(is.ClosedAt), "author_association": "MEMBER", "active_lock_reason": nil,
		"body": is.Body, "closed_by": closedBy, "timeline_url": u + "/timeline",
		"performed_via_github_app": nil, "state_reason": stateReason,
	}
}

func (s *Server) findIssue(r *http.Request) *Issue {
	n, _ := strconv.Atoi(r.PathValue("number"))
	for _, is := range s.issues {
		if is.Number == n {
			return is
		}
	}
	return nil
}

func (s *Server) findPull(r *http.Request) *PullRequest {
	n, _ := strconv.Atoi(r.PathValue("number"))
	for _, pr := range s.pulls {
		if pr.Number == n {
			return pr
		}
	}
	return nil
}

type issueRequest struct {
	Title       *string   `json:"title"`
	Body        *string   `json:"body"`
	State       *string   `json:"state"`
	StateReason *string   `json:"state_reason"`
	Labels      *[]string `json:"labels"`
	Assignees   *[]string `json:"assignees"`
	Assignee    *string   `json:"assignee"`
}

func (s *Server) createIssue(w http.ResponseWriter, r *http.Request) {
	var req issueRequest
	if err := decodeBody(r, &req); err != nil {
		badJSON(w)
		return
	}
	if req.Title == nil || *req.Title == "" {
		unprocessable(w, ValidationError{Resource: "Issue", Field: "title", Code: "missing_field"})
		return
	}
	login, _ := s.login(r)
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now().UTC().Truncate(time.Second)
	s.number++
	is := &Issue{Number: s.number, Title: *req.Title, State: "open", User: login, CreatedAt: now, UpdatedAt: now,
		Labels: []string{}, Assignees: []string{}}
	s.applyIssue(is, req, now)
	s.issues = append(s.issues, is)
	w.Header().Set("Location", s.apiURL("/issues/%d", is.Number))
	writeJSON(w, http.StatusCreated, s.issueJSON(is))
}

// applyIssue applies the fields present in req. Must be called with s.mu
// held.
func (s *Server) applyIssue(is *Issue, req issueRequest, now time.Time) {
	if req.Title != nil {
		is.Title = *req.Title
	}
	if req.Body != nil {
		is.Body = *req.Body
	}
	if req.Labels != nil {
		is.Labels = slices.Clone(*req.Labels)
	}
	if req.Assignees != nil {
		is.Assignees = slices.Clone(*req.Assignees)
	} else if req.Assignee != nil {
		is.Assignees = []string{*req.Assignee}
	}
	if req.State != nil && *req.State != is.State {
		is.State = *req.State
		switch is.State {
		case "closed":
			is.ClosedAt, is.StateReason = now, "completed"
		case "open":
			is.ClosedAt, is.StateReason = time.Time{}, "reopened"
		}
	}
	if req.StateReason != nil {
		is.StateReason = *req.StateReason
	}
	is.UpdatedAt = now
}

func (s *Server) getIssue(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	is := s.findIssue(r)
	if is == nil {
		notFound(w)
		return
	}
	writeJSON(w, http.StatusOK, s.issueJSON(is))
}

func (s *Server) editIssue(w http.ResponseWriter, r *http.Request) {
	var req issueRequest
	if err := decodeBody(r, &req); err != nil {
		badJSON(w)
		return
	}
	if req.State != nil && *req.State != "open" && *req.State != "closed" {
		unprocessable(w, ValidationError{Resource: "Issue", Field: "state", Code: "invalid"})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	is := s.findIssue(r)
	if is == nil {
		notFound(w)
		return
	}
	s.applyIssue(is, req, s.now().UTC().Truncate(time.Second))
	writeJSON(w, http.StatusOK, s.issueJSON(is))
}

func (s *Server) createComment(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Body *string `json:"body"`
	}
	if err := decodeBody(r, &req); err != nil {
		badJSON(w)
		return
	}
	if req.Body == nil || *req.Body == "" {
		unprocessable(w, ValidationError{Resource: "IssueComment", Field: "body", Code: "missing_field"})
		return
	}
	login, _ := s.login(r)
	s.mu.Lock()
	defer s.mu.Unlock()
	var comments *[]Comment
	if is := s.findIssue(r); is != nil {
		comments = &is.Comments
	} else if pr := s.findPull(r); pr != nil {
		comments = &pr.Comments
	} else {
		notFound(w)
		return
	}
	s.commentID++
	c := Comment{ID: 1000000 + s.commentID, Body: *req.Body, User: login, CreatedAt: s.now().UTC().Truncate(time.Second)}
	*comments = append(*comments, c)
	n := r.PathValue("number")
	u := s.apiURL("/issues/comments/%d", c.ID)
	w.Header().Set("Location", u)
	writeJSON(w, http.StatusCreated, map[string]any{
		"id": c.ID, "node_id": "IC_fake" + strconv.FormatInt(c.ID, 10), "url": u,
		"html_url":  s.htmlURL("/issues/%s#issuecomment-%d", n, c.ID),
		"issue_url": s.apiURL("/issues/%s", n), "body": c.Body, "user": s.userJSON(login),
		"created_at": c.CreatedAt.Format(time.RFC3339), "updated_at": c.CreatedAt.Format(time.RFC3339),
		"author_association": "MEMBER", "performed_via_github_app": nil,
	})
}

func (s *Server) branchJSON(branch string) map[string]any {
	return map[string]any{
		"label": s.owner + ":" + branch, "ref": branch, "sha": s.refs["heads/"+branch],
		"user": s.userJSON(s.owner), "repo": s.repoJSON(),
	}
}

func (s *Server) pullJSON(pr *PullRequest) map[string]any {
	u := s.apiURL("/pulls/%d", pr.Number)
	return map[string]any{
		"url": u, "id": 2000 + pr.Number, "node_id": "PR_fake" + strconv.Itoa(pr.Number),
		"html_url": s.htmlURL("/pull/%d", pr.Number), "diff_url": s.htmlURL("/pull/%d.diff", pr.Number),
		"patch_url": s.htmlURL("/pull/%d.patch", pr.Number), "issue_url": s.apiURL("/issues/%d", pr.Number),
		"number": pr.Number, "state": pr.State, "locked": false, "title": pr.Title, "user": s.userJSON(pr.User),
		"body": pr.Body, "created_at": pr.CreatedAt.Format(time.RFC3339), "updated_at": pr.UpdatedAt.Format(time.RFC3339),
		"closed_at": timeOrNil(pr.ClosedAt), "merged_at": nil, "merge_commit_sha": nil,
		"assignee": nil, "assignees": []any{}, "requested_reviewers": []any{}, "labels": []any{},
		"draft": pr.Draft, "head": s.branchJSON(pr.Head), "base": s.branchJSON(pr.Base),
		"author_association": "MEMBER", "merged": false, "mergeable": nil, "comments": len(pr.Comments),
		"commits_url": u + "/commits", "review_comments_url": u + "/comments",
	}
}

// headBranch strips the "owner:" prefix GitHub accepts in head.
func (s *Server) headBranch(head string) (string, bool) {
	if owner, branch, ok := strings.Cut(head, ":"); ok {
		return branch, strings.EqualFold(owner, s.owner)
	}
	return head, true
}

func (s *Server) createPull(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Title string `json:"title"`
		Head  string `json:"head"`
		Base  string `json:"base"`
		Body  string `json:"body"`
		Draft bool   `json:"draft"`
	}
	if err := decodeBody(r, &req); err != nil {
		badJSON(w)
		return
	}
	login, _ := s.login(r)
	s.mu.Lock()
	defer s.mu.Unlock()
	head, sameOwner := s.headBranch(req.Head)
	headSHA, headOK := s.refs["heads/"+head]
	baseSHA, baseOK := s.refs["heads/"+req.Base]
	switch {
	case req.Title == "":
		unprocessable(w, ValidationError{Resource: "PullRequest", Field: "title", Code: "missing_field"})
		return
	case !sameOwner || !headOK:
		unprocessable(w, ValidationError{Resource: "PullRequest", Field: "head", Code: "invalid"})
		return
	case !baseOK:
		unprocessable(w, ValidationError{Resource: "PullRequest", Field: "base", Code: "invalid"})
		return
	case headSHA == baseSHA:
		unprocessable(w, ValidationError{Resource: "PullRequest", Code: "custom",
			Message: "No commits between " + req.Base + " and " + head})
		return
	}
	for _, pr := range s.pulls {
		if pr.State == "open" && pr.Head == head {
			unprocessable(w, ValidationError{Resource: "PullRequest", Code: "custom",
				Message: "A pull request already exists for " + s.owner + ":" + head + "."})
			return
		}
	}
	now := s.now().UTC().Truncate(time.Second)
	s.number++
	pr := &PullRequest{Number: s.number, Title: req.Title, Body: req.Body, State: "open", Head: head,
		Base: req.Base, Draft: req.Draft, User: login, CreatedAt: now, UpdatedAt: now}
	s.pulls = append(s.pulls, pr)
	w.Header().Set("Location", s.apiURL("/pulls/%d", pr.Number))
	writeJSON(w, http.StatusCreated, s.pullJSON(pr))
}

func (s *Server) listPulls(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	state := q.Get("state")
	if state == "" {
		state = "open"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	head, sameOwner := s.headBranch(q.Get("head"))
	out := []map[string]any{}
	for _, pr := range s.pulls {
		if (state != "all" && pr.State != state) ||
			(head != "" && (pr.Head != head || !sameOwner)) ||
			(q.Get("base") != "" && pr.Base != q.Get("base")) {
			continue
		}
		out = append(out, s.pullJSON(pr))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) getPull(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	pr := s.findPull(r)
	if pr == nil {
		notFound(w)
		return
	}
	writeJSON(w, http.StatusOK, s.pullJSON(pr))
}

func (s *Server) editPull(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Title *string `json:"title"`
		Body  *string `json:"body"`
		State *string `json:"state"`
		Base  *string `json:"base"`
	}
	if err := decodeBody(r, &req); err != nil {
		badJSON(w)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	pr := s.findPull(r)
	if pr == nil {
		notFound(w)
		return
	}
	if req.State != nil && *req.State != "open" && *req.State != "closed" {
		unprocessable(w, ValidationError{Resource: "PullRequest", Field: "state", Code: "invalid"})
		return
	}
	if req.Base != nil {
		if _, ok := s.refs["heads/"+*req.Base]; !ok {
			unprocessable(w, ValidationError{Resource: "PullRequest", Field: "base", Code: "invalid"})
			return
		}
		pr.Base = *req.Base
	}
	now := s.now().UTC().Truncate(time.Second)
	if req.Title != nil {
		pr.Title = *req.Title
	}
	if req.Body != nil {
		pr.Body = *req.Body
	}
	if req.State != nil && *req.State != pr.State {
		pr.State = *req.State
		pr.ClosedAt = time.Time{}
		if pr.State == "closed" {
			pr.ClosedAt = now
		}
	}
	pr.UpdatedAt = now
	writeJSON(w, http.StatusOK, s.pullJSON(pr))
}
