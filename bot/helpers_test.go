package bot_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sitrep-io/sitrep/bot"
	"github.com/sitrep-io/sitrep/internal/testclock"
	"github.com/sitrep-io/sitrep/store"
)

// start is where the fake clock begins.
var start = time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)

// newClock is a clock the test moves by hand, at start.
func newClock() *testclock.Clock { return testclock.New(start) }

// chatCall is one call a fakeChat received.
type chatCall struct {
	Method  string // "create", "post", "update", "topic", "invite", "pin", "archive", "upload"
	Channel string // the channel id (for "create", the id it got)
	Name    string // "create": the name asked for
	Private bool
	TS      string
	Text    string
	Title   string
	Topic   string
	Users   []string
	Tag     string
}

func (c chatCall) String() string {
	switch c.Method {
	case "create":
		return "create " + c.Name
	case "post":
		return fmt.Sprintf("post %s %q", c.Channel, c.Text)
	case "update":
		return fmt.Sprintf("update %s/%s %q", c.Channel, c.TS, c.Title)
	case "topic":
		return fmt.Sprintf("topic %s %q", c.Channel, c.Topic)
	case "invite":
		return fmt.Sprintf("invite %s %v", c.Channel, c.Users)
	case "pin":
		return fmt.Sprintf("pin %s/%s", c.Channel, c.TS)
	}
	return c.Method
}

// fakeChat is a recording bot.Chat. fail, when set, is asked about every
// call before it is carried out; a non-nil error fails the call, which is
// then not recorded in calls.
type fakeChat struct {
	mu       sync.Mutex
	calls    []chatCall // the calls that succeeded, in order
	attempts int
	channels map[string]string // name -> id
	seq      int
	fail     func(c chatCall) error
}

var _ bot.Chat = (*fakeChat)(nil)

func newChat() *fakeChat { return &fakeChat{channels: map[string]string{}} }

// setFail installs f as the failure hook.
func (f *fakeChat) setFail(fn func(c chatCall) error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail = fn
}

// do runs one call: it asks the failure hook, then records it.
func (f *fakeChat) do(c chatCall, apply func(*chatCall) error) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.attempts++
	if f.fail != nil {
		if err := f.fail(c); err != nil {
			return err
		}
	}
	if apply != nil {
		if err := apply(&c); err != nil {
			return err
		}
	}
	f.calls = append(f.calls, c)
	return nil
}

func (f *fakeChat) CreateChannel(_ context.Context, spec bot.ChannelSpec) (bot.ChannelRef, error) {
	var ref bot.ChannelRef
	err := f.do(chatCall{Method: "create", Name: spec.Name, Private: spec.Private}, func(c *chatCall) error {
		if _, taken := f.channels[spec.Name]; taken {
			return bot.Errorf(bot.ECONFLICT, "name_taken: %s", spec.Name)
		}
		f.seq++
		c.Channel = fmt.Sprintf("C%d", f.seq)
		f.channels[spec.Name] = c.Channel
		ref = bot.ChannelRef{ID: c.Channel, Name: spec.Name}
		return nil
	})
	return ref, err
}

func (f *fakeChat) Post(_ context.Context, channelID string, msg bot.Message) (bot.MessageRef, error) {
	var ref bot.MessageRef
	err := f.do(chatCall{Method: "post", Channel: channelID, Text: msg.Text, Title: msg.Title, Tag: msg.Tag}, func(c *chatCall) error {
		f.seq++
		c.TS = fmt.Sprintf("%d.000100", f.seq)
		ref = bot.MessageRef{ChannelID: channelID, TS: c.TS}
		return nil
	})
	return ref, err
}

func (f *fakeChat) Update(_ context.Context, ref bot.MessageRef, msg bot.Message) error {
	return f.do(chatCall{Method: "update", Channel: ref.ChannelID, TS: ref.TS, Text: msg.Text, Title: msg.Title}, nil)
}

func (f *fakeChat) SetTopic(_ context.Context, channelID, topic string) error {
	return f.do(chatCall{Method: "topic", Channel: channelID, Topic: topic}, nil)
}

func (f *fakeChat) Invite(_ context.Context, channelID string, userIDs []string) error {
	return f.do(chatCall{Method: "invite", Channel: channelID, Users: slices.Clone(userIDs)}, nil)
}

func (f *fakeChat) Pin(_ context.Context, ref bot.MessageRef) error {
	return f.do(chatCall{Method: "pin", Channel: ref.ChannelID, TS: ref.TS}, nil)
}

func (f *fakeChat) Archive(_ context.Context, channelID string) error {
	return f.do(chatCall{Method: "archive", Channel: channelID}, nil)
}

func (f *fakeChat) Upload(_ context.Context, channelID string, file bot.File) (bot.MessageRef, error) {
	var ref bot.MessageRef
	err := f.do(chatCall{Method: "upload", Channel: channelID, Name: file.Name, Text: string(file.Content)}, func(c *chatCall) error {
		f.seq++
		c.TS = fmt.Sprintf("%d.000100", f.seq)
		ref = bot.MessageRef{ChannelID: channelID, TS: c.TS}
		return nil
	})
	return ref, err
}

// finderChat is a fakeChat that can also find its own tagged messages
// (bot.MessageFinder), as Slack can.
type finderChat struct{ *fakeChat }

var _ bot.MessageFinder = finderChat{}

func (f finderChat) FindTagged(_ context.Context, channelID, tag string) (bot.MessageRef, bool, error) {
	for _, c := range f.In(channelID) {
		if c.Method == "post" && c.Tag == tag {
			return bot.MessageRef{ChannelID: channelID, TS: c.TS}, true, nil
		}
	}
	return bot.MessageRef{}, false, nil
}

// Calls returns the successful calls, optionally only those of the given
// method.
func (f *fakeChat) Calls(method string) []chatCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []chatCall
	for _, c := range f.calls {
		if method == "" || c.Method == method {
			out = append(out, c)
		}
	}
	return out
}

// In returns the successful calls about one channel, in order.
func (f *fakeChat) In(channel string) []chatCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []chatCall
	for _, c := range f.calls {
		if c.Channel == channel {
			out = append(out, c)
		}
	}
	return out
}

// Posts returns the texts posted to channel, in order.
func (f *fakeChat) Posts(channel string) []string {
	var out []string
	for _, c := range f.In(channel) {
		if c.Method == "post" {
			out = append(out, c.Text)
		}
	}
	return out
}

func (f *fakeChat) Attempts() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.attempts
}

const broadcast = "CBROADCAST"

// env is a service and dispatcher over a real SQLite file, with a fake chat
// and a fake clock.
type env struct {
	t     *testing.T
	path  string
	cfg   bot.ServiceConfig
	clock *testclock.Clock
	chat  *fakeChat
	db    *store.DB
	svc   *bot.Service
	disp  *bot.Dispatcher
	// forget lists the outbox entries whose completion this process
	// dies before recording (a crash right after the vendor took them);
	// cleared by reopen, the next process.
	forget map[int64]bool
	// adapter, when set, is the chat the next open delivers through
	// instead of chat.
	adapter bot.Chat
}

const (
	baseBackoff = time.Second
	maxBackoff  = 10 * time.Second
)

// newEnv opens a fresh database; cfg.Now is set to the fake clock.
func newEnv(t *testing.T, cfg bot.ServiceConfig) *env {
	t.Helper()
	e := &env{t: t, path: filepath.Join(t.TempDir(), "sitrep.db"), cfg: cfg, clock: newClock(), chat: newChat(), forget: map[int64]bool{}}
	e.cfg.Now = e.clock.Now
	e.open()
	return e
}

// open opens the database file and builds the service and dispatcher on it.
func (e *env) open() {
	e.t.Helper()
	db, err := store.Open(e.t.Context(), e.path)
	if err != nil {
		e.t.Fatalf("store.Open: %v", err)
	}
	e.t.Cleanup(func() { _ = db.Close() })
	e.db = db
	e.svc = bot.NewService(db, e.cfg)
	e.disp = bot.NewDispatcher(dropCompletion{db, e.forget}, bot.DispatcherOptions{
		Workers:     4,
		BaseBackoff: baseBackoff,
		MaxBackoff:  maxBackoff,
		Now:         e.clock.Now,
		OnFailure:   e.svc.RecordDeliveryFailure,
	})
	var adapter bot.Chat = e.chat
	if e.adapter != nil {
		adapter = e.adapter
	}
	e.wire(bot.ChatOps(adapter))
	e.svc.OnCommit(e.disp.Wake)
}

// hook wires an event hook as a feature of its own.
func (e *env) hook(h bot.EventHook) {
	e.t.Helper()
	e.wire(bot.NewFeature("test hook", func(r *bot.Registry) { r.Hook(h) }))
}

// wire wires features on the env's current service and dispatcher.
func (e *env) wire(features ...bot.Feature) {
	e.t.Helper()
	if err := bot.Wire(e.svc, e.disp, features...); err != nil {
		e.t.Fatal(err)
	}
}

// reopen closes the database, as a process that stops, and opens it again.
func (e *env) reopen() {
	e.t.Helper()
	if err := e.db.Close(); err != nil {
		e.t.Fatalf("Close: %v", err)
	}
	clear(e.forget)
	e.open()
}

func (e *env) ctx() context.Context { return e.t.Context() }

// drain delivers everything due now.
func (e *env) drain() {
	e.t.Helper()
	if err := e.disp.Drain(e.ctx()); err != nil {
		e.t.Fatalf("Drain: %v", err)
	}
}

func (e *env) declare(title string) bot.Incident {
	e.t.Helper()
	inc, err := e.svc.Declare(e.ctx(), bot.DeclareRequest{Actor: "U1", Title: title})
	if err != nil {
		e.t.Fatalf("Declare(%q): %v", title, err)
	}
	return inc
}

// opened declares an incident and delivers its opening (channel, card).
func (e *env) opened(title string) bot.Incident {
	e.t.Helper()
	inc := e.declare(title)
	e.drain()
	return e.incident(inc.ID)
}

func (e *env) alert(a bot.Alert) bot.AlertOutcome {
	e.t.Helper()
	if a.Source == "" {
		a.Source = "webhook"
	}
	if a.Title == "" {
		a.Title = "High error rate"
	}
	out, err := e.svc.IngestAlert(e.ctx(), a)
	if err != nil {
		e.t.Fatalf("IngestAlert(%+v): %v", a, err)
	}
	return out
}

func (e *env) incident(id int64) bot.Incident {
	e.t.Helper()
	inc, err := e.svc.Incident(e.ctx(), id)
	if err != nil {
		e.t.Fatalf("Incident(%d): %v", id, err)
	}
	return inc
}

func (e *env) incidents() []bot.Incident {
	e.t.Helper()
	incs, err := e.svc.Incidents(e.ctx(), bot.IncidentFilter{All: true})
	if err != nil {
		e.t.Fatalf("Incidents: %v", err)
	}
	return incs
}

func (e *env) timeline(id int64) []bot.Event {
	e.t.Helper()
	evs, err := e.svc.Timeline(e.ctx(), id)
	if err != nil {
		e.t.Fatalf("Timeline(%d): %v", id, err)
	}
	return evs
}

func (e *env) deliveries(states ...bot.DeliveryState) []bot.Delivery {
	e.t.Helper()
	ds, err := e.db.Deliveries(e.ctx(), states...)
	if err != nil {
		e.t.Fatalf("Deliveries: %v", err)
	}
	return ds
}

// lastDeliveryID is the newest outbox entry's id, 0 when there is none.
func (e *env) lastDeliveryID() int64 {
	ds := e.deliveries()
	if len(ds) == 0 {
		return 0
	}
	return ds[len(ds)-1].ID
}

// deliveriesAfter returns the entries newer than id.
func (e *env) deliveriesAfter(id int64) []bot.Delivery {
	var out []bot.Delivery
	for _, d := range e.deliveries() {
		if d.ID > id {
			out = append(out, d)
		}
	}
	return out
}

// unfinished returns the entries still pending or sending.
func (e *env) unfinished() []bot.Delivery {
	return e.deliveries(bot.DeliveryPending, bot.DeliverySending)
}

// opName names a delivery by its op, and for a post by its target too.
func opName(t *testing.T, d bot.Delivery) string {
	t.Helper()
	if d.Op != bot.OpPost {
		return d.Op
	}
	var p struct {
		Target string `json:"target"`
	}
	if err := json.Unmarshal(d.Payload, &p); err != nil {
		t.Fatalf("decode post payload %s: %v", d.Payload, err)
	}
	return d.Op + ":" + p.Target
}

func opNames(t *testing.T, ds []bot.Delivery) []string {
	t.Helper()
	out := []string{}
	for _, d := range ds {
		out = append(out, opName(t, d))
	}
	return out
}

func kinds(evs []bot.Event) []bot.EventKind {
	out := []bot.EventKind{}
	for _, ev := range evs {
		out = append(out, ev.Kind)
	}
	return out
}

// count returns how many events of kind evs has.
func count(evs []bot.Event, kind bot.EventKind) int {
	n := 0
	for _, ev := range evs {
		if ev.Kind == kind {
			n++
		}
	}
	return n
}

// snapshot is everything a failed command must leave as it was.
type snapshot struct {
	Incidents  []bot.Incident
	Events     map[int64]int
	Deliveries []string // id:state
}

func (e *env) snapshot() snapshot {
	e.t.Helper()
	s := snapshot{Incidents: e.incidents(), Events: map[int64]int{}}
	for _, d := range e.deliveries() {
		s.Deliveries = append(s.Deliveries, fmt.Sprintf("%d:%s", d.ID, d.State))
	}
	for _, inc := range s.Incidents {
		s.Events[inc.ID] = len(e.timeline(inc.ID))
	}
	return s
}

func (s snapshot) String() string {
	var b strings.Builder
	for _, inc := range s.Incidents {
		fmt.Fprintf(&b, "%s %s %s %q cmd=%s comms=%s events=%d upd=%v; ", inc.Key(), inc.Severity, inc.Status, inc.Title,
			inc.Commander, inc.CommsLead, s.Events[inc.ID], inc.UpdatedAt)
	}
	fmt.Fprintf(&b, "deliveries=%v", s.Deliveries)
	return b.String()
}

// requireUnchanged fails when the state differs from before.
func (e *env) requireUnchanged(before snapshot) {
	e.t.Helper()
	if after := e.snapshot(); after.String() != before.String() {
		e.t.Errorf("state changed:\n before %s\n after  %s", before, after)
	}
}

// wantCode fails unless err has the given code.
func wantCode(t *testing.T, err error, want string) {
	t.Helper()
	if got := bot.ErrorCode(err); got != want {
		t.Fatalf("error code = %q (%v), want %q", got, err, want)
	}
}
