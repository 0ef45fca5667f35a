package ghfake

import (
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"github.com/sitrep-io/sitrep/internal/fakehttp"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Route patterns, usable with Fail and found in Call.Route.
const (
	RouteGetRepo       = "GET /repos/{owner}/{repo}"
	RouteGetRef        = "GET /repos/{owner}/{repo}/git/ref/{ref...}"
	RouteGetRefs       = "GET /repos/{owner}/{repo}/git/refs/{ref...}"
	RouteCreateRef     = "POST /repos/{owner}/{repo}/git/refs"
	RouteGetContents   = "GET /repos/{owner}/{repo}/contents/{path...}"
	RoutePutContents   = "PUT /repos/{owner}/{repo}/contents/{path...}"
	RouteCreatePull    = "POST /repos/{owner}/{repo}/pulls"
	RouteListPulls     = "GET /repos/{owner}/{repo}/pulls"
	RouteGetPull       = "GET /repos/{owner}/{repo}/pulls/{number}"
	RouteEditPull      = "PATCH /repos/{owner}/{repo}/pulls/{number}"
	RouteCreateIssue   = "POST /repos/{owner}/{repo}/issues"
	RouteGetIssue      = "GET /repos/{owner}/{repo}/issues/{number}"
	RouteEditIssue     = "PATCH /repos/{owner}/{repo}/issues/{number}"
	RouteCreateComment = "POST /repos/{owner}/{repo}/issues/{number}/comments"
	// AnyRoute makes Fail apply to every route.
	AnyRoute = fakehttp.AnyRoute
)

// DefaultToken is the token every new Server accepts, as user DefaultLogin.
const (
	DefaultToken = "ghfake-token"
	DefaultLogin = "sitrep-bot"
)

const (
	docsRoot  = "https://docs.github.com/rest"
	rateLimit = 5000
)

// Server is a fake GitHub REST API serving one repository. Create it with
// New.
type Server struct {
	t             fakehttp.TB
	ts            *httptest.Server
	done          chan struct{}
	closeOnce     sync.Once
	owner, repo   string
	defaultBranch string

	mu        sync.Mutex
	now       func() time.Time
	resetAt   time.Time
	tokens    map[string]string // token -> login
	refs      map[string]string // "heads/main" -> commit sha
	commits   map[string]tree   // commit sha -> files
	commitSeq int
	number    int // last issue or pull request number
	issues    []*Issue
	pulls     []*PullRequest
	commentID int64
	faults    fakehttp.Faults[Fault]
	fakehttp.Recorder
}

// tree maps a path to a file in one commit. Trees are never modified once
// stored: a commit copies its parent's tree.
type tree map[string]blob

type blob struct {
	content []byte
	sha     string
}

// Call is one request the fake received.
// Call is one request the fake received.
type Call = fakehttp.Call

// New starts a fake GitHub serving owner/repo, closed when the test ends.
func New(t fakehttp.TB, owner, repo string) *Server {
	if t != nil {
		t.Helper()
	}
	s := &Server{
		t: t, done: make(chan struct{}), owner: owner, repo: repo, defaultBranch: "main",
		now: time.Now, tokens: map[string]string{DefaultToken: DefaultLogin},
		refs: map[string]string{}, commits: map[string]tree{},
	}
	s.resetAt = s.now().Add(time.Hour).Truncate(time.Second)
	s.refs["heads/main"] = s.commit(tree{}, "Initial commit")
	mux := http.NewServeMux()
	for pattern, h := range map[string]http.HandlerFunc{
		RouteGetRepo: s.getRepo, RouteGetRef: s.getRef, RouteGetRefs: s.getRefs, RouteCreateRef: s.createRef,
		RouteGetContents: s.getContents, RoutePutContents: s.putContents,
		RouteCreatePull: s.createPull, RouteListPulls: s.listPulls, RouteGetPull: s.getPull, RouteEditPull: s.editPull,
		RouteCreateIssue: s.createIssue, RouteGetIssue: s.getIssue, RouteEditIssue: s.editIssue,
		RouteCreateComment: s.createComment,
	} {
		s.handle(mux, pattern, h)
	}
	s.handle(mux, "/", func(w http.ResponseWriter, r *http.Request) { notFound(w) })
	s.ts = httptest.NewServer(mux)
	if t != nil {
		t.Cleanup(s.Close)
	}
	return s
}

// URL returns the base URL with a trailing slash, for go-github's BaseURL.
func (s *Server) URL() string { return s.ts.URL + "/" }

// Token returns a token the server accepts.
func (s *Server) Token() string { return DefaultToken }

// AddToken makes the server accept token as the user login.
func (s *Server) AddToken(token, login string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens[token] = login
}

// SetNow replaces the clock used for timestamps.
func (s *Server) SetNow(now func() time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = now
}

// DefaultBranch returns the repository's default branch, "main".
func (s *Server) DefaultBranch() string { return s.defaultBranch }

func (s *Server) handle(mux *http.ServeMux, pattern string, h http.HandlerFunc) {
	s.Recorder.Handle(mux, pattern, func(w http.ResponseWriter, r *http.Request, route string) {
		s.serve(w, r, route, h)
	})
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request, route string, h http.HandlerFunc) {
	s.rateHeaders(w)
	if f := s.faults.Next(route); f != nil {
		if f.Delay > 0 && !fakehttp.Wait(r, s.done, f.Delay) {
			return
		}
		if f.Status != 0 {
			f.write(w)
			return
		}
	}
	if !s.authorized(r) {
		writeJSON(w, http.StatusUnauthorized, errorBody("Bad credentials", docsRoot))
		return
	}
	if o, rp := r.PathValue("owner"), r.PathValue("repo"); o != "" &&
		(!strings.EqualFold(o, s.owner) || !strings.EqualFold(rp, s.repo)) {
		notFound(w)
		return
	}
	h(w, r)
}

func (s *Server) rateHeaders(w http.ResponseWriter) {
	used := len(s.Calls()) + 1
	s.mu.Lock()
	reset := s.resetAt.Unix()
	s.mu.Unlock()
	h := w.Header()
	h.Set("x-ratelimit-limit", strconv.Itoa(rateLimit))
	h.Set("x-ratelimit-remaining", strconv.Itoa(max(rateLimit-used, 1)))
	h.Set("x-ratelimit-used", strconv.Itoa(used))
	h.Set("x-ratelimit-reset", strconv.FormatInt(reset, 10))
	h.Set("x-ratelimit-resource", "core")
	h.Set("x-github-media-type", "github.v3; format=json")
	h.Set("x-github-request-id", fmt.Sprintf("FAKE:%04X", used))
}

func (s *Server) authorized(r *http.Request) bool {
	_, ok := s.login(r)
	return ok
}

// login returns the user the request authenticates as.
func (s *Server) login(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	var token string
	switch {
	case strings.HasPrefix(h, "Bearer "):
		token = strings.TrimPrefix(h, "Bearer ")
	case strings.HasPrefix(h, "token "):
		token = strings.TrimPrefix(h, "token ")
	default:
		return "", false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	login, ok := s.tokens[token]
	return login, ok
}

func errorBody(message, doc string) map[string]any {
	m := map[string]any{"message": message}
	if doc != "" {
		m["documentation_url"] = doc
	}
	return m
}

func validationBody(errs ...ValidationError) map[string]any {
	if errs == nil {
		errs = []ValidationError{}
	}
	return map[string]any{"message": "Validation Failed", "errors": errs, "documentation_url": docsRoot}
}

func notFound(w http.ResponseWriter) {
	writeJSON(w, http.StatusNotFound, errorBody("Not Found", docsRoot))
}

func unprocessable(w http.ResponseWriter, errs ...ValidationError) {
	writeJSON(w, http.StatusUnprocessableEntity, validationBody(errs...))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"message":"ghfake: cannot encode response"}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// blobSHA is git's object id for a blob with this content.
func blobSHA(content []byte) string {
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", len(content))
	h.Write(content)
	return hex.EncodeToString(h.Sum(nil))
}

// commit stores t as a new commit and returns its sha. Must be called with
// s.mu held (or before the server starts).
func (s *Server) commit(t tree, message string) string {
	s.commitSeq++
	sum := sha1.Sum([]byte(fmt.Sprintf("commit %d %s", s.commitSeq, message)))
	sha := hex.EncodeToString(sum[:])
	s.commits[sha] = t
	return sha
}

func (s *Server) apiURL(format string, args ...any) string {
	return s.ts.URL + fmt.Sprintf("/repos/%s/%s", s.owner, s.repo) + fmt.Sprintf(format, args...)
}

func (s *Server) htmlURL(format string, args ...any) string {
	return fmt.Sprintf("https://github.com/%s/%s", s.owner, s.repo) + fmt.Sprintf(format, args...)
}

func decodeBody(r *http.Request, v any) error {
	return json.NewDecoder(r.Body).Decode(v)
}

func badJSON(w http.ResponseWriter) {
	writeJSON(w, http.StatusBadRequest, errorBody("Problems parsing JSON", docsRoot))
}

// Close stops the server; safe to call more than once. With a nil
// fakehttp.TB (outside tests, e.g. the demo) the caller must call it.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		close(s.done)
		s.ts.Close()
	})
}
