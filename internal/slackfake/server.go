package slackfake

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/sitrep-io/sitrep/internal/fakehttp"
)

// Default credentials and identity of the fake workspace.
const (
	BotToken  = "xoxb-test"
	AppToken  = "xapp-test"
	TeamID    = "T0FAKE001"
	TeamName  = "Sitrep Test"
	TeamDom   = "sitrep-test"
	BotUserID = "U0FAKEBOT"
	BotID     = "B0FAKEBOT"
	BotName   = "sitrep"
	AppID     = "A0FAKEAPP"

	// MethodUpload is the pseudo-method under which the POST of file bytes
	// to an upload_url is recorded and can be faulted.
	MethodUpload = "upload"

	// tsBase is the first message timestamp handed out ("1700000000.000100").
	tsBase = 1700000000
)

// Option configures a Server.
type Option func(*Server)

// WithBotToken sets the accepted bot token (default BotToken). It may be
// given several times to accept several tokens.
func WithBotToken(token string) Option {
	return func(s *Server) { s.botTokens[token] = true }
}

// WithAppToken sets the accepted app-level token for apps.connections.open
// (default AppToken).
func WithAppToken(token string) Option { return func(s *Server) { s.appToken = token } }

// WithValidTriggers makes views.open accept only these trigger ids, each
// once (later uses answer exchanged_trigger_id, others invalid_trigger_id).
// Without it any non-empty trigger id is accepted.
func WithValidTriggers(ids ...string) Option {
	return func(s *Server) { s.AddTriggers(ids...) }
}

// TriggerLifetime is how long Slack accepts a trigger_id after issuing it.
const TriggerLifetime = 3 * time.Second

// WithClock sets the clock trigger expiry is measured on (default
// time.Now), so a test can move past TriggerLifetime without sleeping.
func WithClock(now func() time.Time) Option { return func(s *Server) { s.now = now } }

// Server is the fake Slack Web API. Create it with New.
type Server struct {
	tb  fakehttp.TB
	hs  *httptest.Server
	mux *http.ServeMux

	closing   chan struct{}
	closeOnce sync.Once

	mu        sync.Mutex
	openid    openID
	changed   chan struct{} // closed and replaced on every recorded call
	botTokens map[string]bool
	appToken  string
	seq       map[string]int
	tsSeq     int64

	users     map[string]*User
	userOrder []string
	directory bool // AddUser was called: unknown users are errors
	groups    map[string][]string

	channels  map[string]*channelState
	chanOrder []string
	dms       map[string]string // user id -> D… channel id

	ephemerals []Ephemeral
	// responseURLs are the issued response_urls by id; responses what was
	// posted to them (respond.go).
	responseURLs map[string]*responseURL
	responses    []Response
	uploads      map[string]*Upload
	uploadSeq    []string
	views        map[string]*View
	viewOrder    []string
	triggers     map[string]bool // nil: any; value false means used
	issued       map[string]time.Time
	now          func() time.Time
	expired      map[string]bool

	calls    []Call
	inflight map[string]int
	faults   map[string]*faultQueue

	sockets *socketHub

	tierNow   func() time.Time // WithTiers
	tiers     map[string]Tier
	tierState map[string]*tierBucket
}

type channelState struct {
	Channel
	topicSetBy string
	topicSetAt time.Time
	messages   []*Message
	byTS       map[string]*Message
	pins       []string
}

// New starts a fake Slack server. When tb is not nil the server is closed by
// tb.Cleanup and WaitFor reports timeouts through it.
func New(tb fakehttp.TB, opts ...Option) *Server {
	s := &Server{
		tb:        tb,
		closing:   make(chan struct{}),
		changed:   make(chan struct{}),
		botTokens: map[string]bool{},
		appToken:  AppToken,
		seq:       map[string]int{},
		users:     map[string]*User{},
		groups:    map[string][]string{},
		channels:  map[string]*channelState{},
		dms:       map[string]string{},
		uploads:   map[string]*Upload{},
		views:     map[string]*View{},
		faults:    map[string]*faultQueue{},
		inflight:  map[string]int{},
		expired:   map[string]bool{},
		issued:    map[string]time.Time{},
		now:       time.Now,

		responseURLs: map[string]*responseURL{},
	}
	for _, o := range opts {
		o(s)
	}
	if len(s.botTokens) == 0 {
		s.botTokens[BotToken] = true
	}
	s.users[BotUserID] = &User{ID: BotUserID, Name: BotName, RealName: BotName, IsBot: true}
	s.sockets = newSocketHub(s)
	s.mux = http.NewServeMux()
	s.mux.HandleFunc("/api/", s.serveAPI)
	s.mux.HandleFunc("/upload/", s.serveUpload)
	s.mux.HandleFunc("/response/", s.serveResponse)
	s.mux.HandleFunc("/socket", s.sockets.serve)
	s.registerOpenID() // openid.go: Sign in with Slack
	s.hs = httptest.NewServer(s.mux)
	if tb != nil {
		tb.Cleanup(s.Close)
	}
	return s
}

// URL returns the Web API base URL with the trailing slash that
// slack.OptionAPIURL requires, e.g. "http://127.0.0.1:4321/api/".
func (s *Server) URL() string { return s.hs.URL + "/api/" }

// BaseURL returns the root URL of the fake HTTP server (no trailing slash).
func (s *Server) BaseURL() string { return s.hs.URL }

// Client returns an HTTP client for the fake server.
func (s *Server) Client() *http.Client { return s.hs.Client() }

// Close stops the server. Slow responses in progress are abandoned first so
// Close does not wait for them. It is safe to call more than once.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		close(s.closing)
		s.sockets.closeAll()
		s.hs.CloseClientConnections()
		s.hs.Close()
	})
}

// AddTriggers registers trigger ids that views.open accepts once each,
// within TriggerLifetime of now (expired_trigger_id after, as Slack
// answers), and switches views.open to accepting only registered ids.
func (s *Server) AddTriggers(ids ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.triggers == nil {
		s.triggers = map[string]bool{}
	}
	for _, id := range ids {
		s.triggers[id] = true
		s.issued[id] = s.now()
	}
}

// ExpireTrigger makes views.open answer expired_trigger_id for id.
func (s *Server) ExpireTrigger(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expired[id] = true
}

// nextID returns a fresh Slack-looking id such as "C0FK00001". Caller holds s.mu.
func (s *Server) nextID(prefix string) string {
	s.seq[prefix]++
	return fmt.Sprintf("%s0FK%05d", prefix, s.seq[prefix])
}

// nextTS returns a unique, increasing message timestamp. Caller holds s.mu.
func (s *Server) nextTS() string {
	s.tsSeq++
	n := s.tsSeq * 100
	return fmt.Sprintf("%d.%06d", tsBase+n/1e6, n%1e6)
}

// ---------------------------------------------------------------- seeding

// AddUser adds a user to the directory. Once any user is added, the fake
// answers user_not_found / users_not_found for users it does not know.
func (s *Server) AddUser(u User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.directory = true
	if _, ok := s.users[u.ID]; !ok {
		s.userOrder = append(s.userOrder, u.ID)
	}
	uu := u
	s.users[u.ID] = &uu
}

// AddUserGroup defines a user group (subteam) with the given members.
func (s *Server) AddUserGroup(id string, members ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.groups[id] = slices.Clone(members)
}

// AddChannel adds an existing channel and returns its id (a fresh one when
// c.ID is empty). The bot is not a member unless listed in c.Members.
func (s *Server) AddChannel(c Channel) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c.ID == "" {
		c.ID = s.nextID("C")
	}
	if c.Created.IsZero() {
		c.Created = time.Now()
	}
	c.Members = slices.Clone(c.Members)
	s.putChannel(&channelState{Channel: c, byTS: map[string]*Message{}})
	return c.ID
}

func (s *Server) putChannel(c *channelState) {
	if _, ok := s.channels[c.ID]; !ok {
		s.chanOrder = append(s.chanOrder, c.ID)
	}
	s.channels[c.ID] = c
}

// ---------------------------------------------------------------- reading state

func (c *channelState) snapshot() Channel {
	out := c.Channel
	out.Members = slices.Clone(c.Members)
	return out
}

// Channel finds a channel by name.
func (s *Server) Channel(name string) (Channel, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range s.chanOrder {
		if c := s.channels[id]; c.Name == name {
			return c.snapshot(), true
		}
	}
	return Channel{}, false
}

// ChannelByID finds a channel by id.
func (s *Server) ChannelByID(id string) (Channel, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.lookupChannel(id); c != nil {
		return c.snapshot(), true
	}
	return Channel{}, false
}

// Channels lists every channel in creation order.
func (s *Server) Channels() []Channel {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Channel, 0, len(s.chanOrder))
	for _, id := range s.chanOrder {
		out = append(out, s.channels[id].snapshot())
	}
	return out
}

func copyMessage(m *Message) Message {
	out := *m
	out.Params = cloneValues(m.Params)
	out.Versions = slices.Clone(m.Versions)
	return out
}

// Messages returns the messages of a channel (top-level and thread replies,
// not deleted ones) in ts order. A user id finds the bot's DM with that user.
func (s *Server) Messages(channelID string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.lookupChannel(channelID)
	if c == nil {
		return nil
	}
	var out []Message
	for _, m := range c.messages {
		if !m.Deleted {
			out = append(out, copyMessage(m))
		}
	}
	return out
}

// Thread returns the replies to the message threadTS, oldest first.
func (s *Server) Thread(channelID, threadTS string) []Message {
	var out []Message
	for _, m := range s.Messages(channelID) {
		if m.ThreadTS == threadTS && m.TS != threadTS {
			out = append(out, m)
		}
	}
	return out
}

// Message returns one message (deleted ones included).
func (s *Server) Message(channelID, ts string) (Message, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.lookupChannel(channelID)
	if c == nil || c.byTS[ts] == nil {
		return Message{}, false
	}
	return copyMessage(c.byTS[ts]), true
}

// AllMessages returns every message in every channel, in ts order.
func (s *Server) AllMessages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Message
	for _, id := range s.chanOrder {
		for _, m := range s.channels[id].messages {
			if !m.Deleted {
				out = append(out, copyMessage(m))
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].TS < out[j].TS })
	return out
}

// Ephemerals returns the ephemeral messages sent in a channel.
func (s *Server) Ephemerals(channelID string) []Ephemeral {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Ephemeral
	for _, e := range s.ephemerals {
		if e.Channel == channelID {
			e.Params = cloneValues(e.Params)
			out = append(out, e)
		}
	}
	return out
}

// Pins returns the timestamps of the pinned messages of a channel, in the
// order they were pinned.
func (s *Server) Pins(channelID string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.lookupChannel(channelID); c != nil {
		return slices.Clone(c.pins)
	}
	return nil
}

// Topic returns a channel's topic.
func (s *Server) Topic(channelID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.lookupChannel(channelID); c != nil {
		return c.Topic
	}
	return ""
}

// Members returns a channel's members in the order they joined.
func (s *Server) Members(channelID string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.lookupChannel(channelID); c != nil {
		return slices.Clone(c.Members)
	}
	return nil
}

// Uploads returns every file upload started, in order.
func (s *Server) Uploads() []Upload {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Upload, 0, len(s.uploadSeq))
	for _, id := range s.uploadSeq {
		u := *s.uploads[id]
		u.Content = bytes.Clone(u.Content)
		u.Channels = slices.Clone(u.Channels)
		out = append(out, u)
	}
	return out
}

// Views returns every view opened, in order.
func (s *Server) Views() []View {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]View, 0, len(s.viewOrder))
	for _, id := range s.viewOrder {
		v := *s.views[id]
		v.Raw = bytes.Clone(v.Raw)
		out = append(out, v)
	}
	return out
}

// ---------------------------------------------------------------- calls

func cloneCall(c Call) Call {
	c.Params = cloneValues(c.Params)
	c.Header = c.Header.Clone()
	c.Body = bytes.Clone(c.Body)
	if c.JSON != nil {
		var m map[string]any
		dec := json.NewDecoder(bytes.NewReader(c.Body))
		dec.UseNumber()
		if dec.Decode(&m) == nil {
			c.JSON = m
		}
	}
	if c.Fault != nil {
		f := *c.Fault
		c.Fault = &f
	}
	return c
}

// Calls returns every recorded call, in the order they completed.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Call, len(s.calls))
	for i, c := range s.calls {
		out[i] = cloneCall(c)
	}
	return out
}

// CallsTo returns the recorded calls to one method.
func (s *Server) CallsTo(method string) []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Call
	for _, c := range s.calls {
		if c.Method == method {
			out = append(out, cloneCall(c))
		}
	}
	return out
}

// Reset forgets the recorded calls (state and faults are kept).
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = nil
}

// WaitUntil blocks until cond returns true or timeout passes, and reports
// whether cond became true. cond is evaluated now and after every recorded
// call; it may call the Server's accessors.
func (s *Server) WaitUntil(timeout time.Duration, cond func() bool) bool {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		ch := s.changed
		s.mu.Unlock()
		if cond() {
			return true
		}
		select {
		case <-ch:
		case <-deadline.C:
			return cond()
		}
	}
}

// WaitFor waits until at least n calls to method were recorded and returns
// them. On timeout it fails the test given to New (or panics without one).
func (s *Server) WaitFor(method string, n int, timeout time.Duration) []Call {
	if s.tb != nil {
		s.tb.Helper()
	}
	var got []Call
	ok := s.WaitUntil(timeout, func() bool {
		got = s.CallsTo(method)
		return len(got) >= n
	})
	if !ok {
		var seen []string
		for _, c := range s.Calls() {
			seen = append(seen, c.Method)
		}
		msg := fmt.Sprintf("slackfake: waited %s for %d call(s) to %s, got %d; calls seen: %v", timeout, n, method, len(got), seen)
		if s.tb == nil {
			panic(msg)
		}
		s.tb.Fatal(msg)
	}
	return got
}

// arrive counts a call in flight and takes its fault.
func (s *Server) arrive(method string) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inflight[method]++
	close(s.changed)
	s.changed = make(chan struct{})
	return s.takeFault(method)
}

// InFlight returns how many calls to method have arrived but not been
// answered yet (typically calls held by a Slow fault).
func (s *Server) InFlight(method string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.inflight[method]
}

// record stores a finished call. Caller holds s.mu.
func (s *Server) record(c Call) {
	s.inflight[c.Method]--
	s.calls = append(s.calls, c)
	close(s.changed)
	s.changed = make(chan struct{})
}

// ---------------------------------------------------------------- HTTP

// request is a parsed API call.
type request struct {
	s      *Server
	call   *Call
	params url.Values
	json   map[string]any
}

func (r *request) get(name string) string { return r.params.Get(name) }

func (r *request) has(name string) bool { _, ok := r.params[name]; return ok }

// raw returns a parameter holding JSON (sent as a JSON string in a form,
// or as a value in a JSON body).
func (r *request) raw(name string) (json.RawMessage, bool) {
	v := r.params.Get(name)
	if v == "" {
		return nil, false
	}
	return json.RawMessage(v), true
}

func (r *request) bool(name string) bool {
	v := strings.ToLower(r.get(name))
	return v == "true" || v == "1"
}

type apiError struct {
	code  string
	extra map[string]any
}

func slackErr(code string) *apiError { return &apiError{code: code} }

type handler func(r *request) (map[string]any, *apiError)

func (s *Server) handlers() map[string]handler {
	return map[string]handler{
		"auth.test":                    s.authTest,
		"conversations.create":         s.conversationsCreate,
		"conversations.setTopic":       s.conversationsSetTopic,
		"conversations.setPurpose":     s.conversationsSetPurpose,
		"conversations.invite":         s.conversationsInvite,
		"conversations.archive":        s.conversationsArchive,
		"conversations.history":        s.conversationsHistory,
		"conversations.replies":        s.conversationsReplies,
		"conversations.info":           s.conversationsInfo,
		"conversations.list":           s.conversationsList,
		"conversations.join":           s.conversationsJoin,
		"conversations.members":        s.conversationsMembers,
		"chat.postMessage":             s.chatPostMessage,
		"chat.update":                  s.chatUpdate,
		"chat.delete":                  s.chatDelete,
		"chat.postEphemeral":           s.chatPostEphemeral,
		"chat.getPermalink":            s.chatGetPermalink,
		"pins.add":                     s.pinsAdd,
		"users.info":                   s.usersInfo,
		"users.lookupByEmail":          s.usersLookupByEmail,
		"usergroups.users.list":        s.usergroupsUsersList,
		"views.open":                   s.viewsOpen,
		"views.update":                 s.viewsUpdate,
		"files.getUploadURLExternal":   s.filesGetUploadURLExternal,
		"files.completeUploadExternal": s.filesCompleteUploadExternal,
		"apps.connections.open":        s.appsConnectionsOpen,
		"api.test":                     func(r *request) (map[string]any, *apiError) { return map[string]any{"args": map[string]any{}}, nil },
		"conversations.open":           s.conversationsOpen,
		"files.upload":                 retired,
	}
}

func retired(*request) (map[string]any, *apiError) { return nil, slackErr("method_deprecated") }

// readRequest parses the body and parameters of an API request.
func readRequest(r *http.Request) (body []byte, params url.Values, js map[string]any, jsonErr bool) {
	body, _ = io.ReadAll(io.LimitReader(r.Body, 32<<20))
	params = url.Values{}
	for k, v := range r.URL.Query() {
		params[k] = append(params[k], v...)
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch {
	case ct == "application/json":
		if len(bytes.TrimSpace(body)) == 0 {
			return body, params, map[string]any{}, false
		}
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		if err := dec.Decode(&js); err != nil {
			return body, params, nil, true
		}
		for k, v := range js {
			if str, ok := v.(string); ok {
				params.Set(k, str)
				continue
			}
			b, _ := json.Marshal(v)
			params.Set(k, string(b))
		}
	case ct == "multipart/form-data":
		r.Body = io.NopCloser(bytes.NewReader(body))
		if err := r.ParseMultipartForm(32 << 20); err == nil {
			for k, v := range r.MultipartForm.Value {
				params[k] = append(params[k], v...)
			}
		}
	default:
		if form, err := url.ParseQuery(string(body)); err == nil {
			for k, v := range form {
				params[k] = append(params[k], v...)
			}
		}
	}
	return body, params, js, false
}

func bearer(h http.Header) string {
	a := h.Get("Authorization")
	if len(a) > 7 && strings.EqualFold(a[:7], "Bearer ") {
		return strings.TrimSpace(a[7:])
	}
	return ""
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// faulted applies the fault armed for method, if any, to the call c. It
// reports whether the fault answered the call (which is then recorded) so
// that the normal handler must not run.
func (s *Server) faulted(w http.ResponseWriter, r *http.Request, c *Call, method string) bool {
	f := s.arrive(method)
	if f == nil {
		return false
	}
	if f.TakesEffect && !f.passThrough() {
		s.mu.Lock()
		effect := *c
		s.dispatch(&effect, c.Params, c.JSON, false) // its answer is lost
		s.mu.Unlock()
	}
	if s.applyFault(w, r, c, f) {
		return false
	}
	s.mu.Lock()
	s.record(*c)
	s.mu.Unlock()
	return true
}

// applyFault waits out the fault's delay and writes its answer. It returns
// true when the call must go on to the normal handler.
func (s *Server) applyFault(w http.ResponseWriter, r *http.Request, c *Call, f *Fault) (proceed bool) {
	c.Fault = f
	if f.Delay > 0 && !fakehttp.Wait(r, s.closing, f.Delay) {
		c.Canceled = true
		return false
	}
	if f.passThrough() {
		return true
	}
	status := f.Status
	if status == 0 {
		status = http.StatusOK
	}
	c.Status = status
	c.Error = f.Error
	if f.RetryAfterHeader != "" {
		w.Header().Set("Retry-After", f.RetryAfterHeader)
	} else if f.RetryAfter > 0 {
		w.Header().Set("Retry-After", fmt.Sprint(f.RetryAfter))
	}
	if status >= 500 && f.Error == "" {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(status)
		_, _ = fmt.Fprintf(w, "<html><body><h1>%d %s</h1></body></html>\n", status, http.StatusText(status))
		return false
	}
	code := f.Error
	if code == "" {
		code = "fatal_error"
	}
	writeJSON(w, status, map[string]any{"ok": false, "error": code})
	return false
}

func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	method := strings.TrimPrefix(r.URL.Path, "/api/")
	body, params, js, badJSON := readRequest(r)
	c := Call{
		Method: method,
		Params: params,
		JSON:   js,
		Body:   body,
		Header: r.Header.Clone(),
		Time:   time.Now(),
	}
	c.Token = bearer(r.Header)
	if c.Token == "" {
		c.Token = params.Get("token")
	}

	if s.faulted(w, r, &c, method) {
		return
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if over, wait := s.overTier(method); over {
		secs := int(math.Ceil(wait.Seconds()))
		f := RateLimited(max(secs, 1))
		c.Fault, c.Status, c.Error = &f, f.Status, f.Error
		s.record(c)
		w.Header().Set("Retry-After", fmt.Sprint(f.RetryAfter))
		writeJSON(w, f.Status, map[string]any{"ok": false, "error": f.Error})
		return
	}
	status, resp := s.dispatch(&c, params, js, badJSON)
	c.Status = status
	s.record(c)
	writeJSON(w, status, resp)
}

// dispatch authenticates and runs a handler. Caller holds s.mu.
func (s *Server) dispatch(c *Call, params url.Values, js map[string]any, badJSON bool) (int, map[string]any) {
	fail := func(e *apiError) (int, map[string]any) {
		c.Error = e.code
		out := map[string]any{"ok": false, "error": e.code}
		for k, v := range e.extra {
			out[k] = v
		}
		return http.StatusOK, out
	}
	h, ok := s.handlers()[c.Method]
	if !ok {
		return fail(slackErr("unknown_method"))
	}
	if badJSON {
		return fail(slackErr("invalid_json"))
	}
	switch {
	case c.Token == "":
		return fail(slackErr("not_authed"))
	case c.Method == "apps.connections.open":
		if c.Token != s.appToken {
			if s.botTokens[c.Token] {
				return fail(slackErr("not_allowed_token_type"))
			}
			return fail(slackErr("invalid_auth"))
		}
	case !s.botTokens[c.Token]:
		if c.Token == s.appToken {
			return fail(slackErr("not_allowed_token_type"))
		}
		return fail(slackErr("invalid_auth"))
	}
	resp, e := h(&request{s: s, call: c, params: params, json: js})
	if e != nil {
		return fail(e)
	}
	out := map[string]any{"ok": true}
	for k, v := range resp {
		out[k] = v
	}
	return http.StatusOK, out
}

func cloneValues(v url.Values) url.Values {
	if v == nil {
		return nil
	}
	out := make(url.Values, len(v))
	for k, vv := range v {
		out[k] = slices.Clone(vv)
	}
	return out
}
