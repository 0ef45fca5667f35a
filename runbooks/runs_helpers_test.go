package runbooks_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sitrep-io/sitrep/bot"
	"github.com/sitrep-io/sitrep/internal/testclock"
	"github.com/sitrep-io/sitrep/runbooks"
	"github.com/sitrep-io/sitrep/store"
)

// start lies ahead of the wall clock: the store stamps a new outbox
// entry's first attempt with the wall clock, and a fake clock behind it
// would find nothing due.
var start = time.Date(2100, 1, 2, 3, 4, 5, 0, time.UTC)

// sent is one message the fake chat posted or updated.
type sent struct {
	Method string // "post" or "update"
	Ref    bot.MessageRef
	Msg    bot.Message
}

// fakeChat records what the bot says.
type fakeChat struct {
	mu   sync.Mutex
	seq  int
	msgs []sent
}

var _ bot.Chat = (*fakeChat)(nil)

func (f *fakeChat) CreateChannel(_ context.Context, spec bot.ChannelSpec) (bot.ChannelRef, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seq++
	return bot.ChannelRef{ID: fmt.Sprintf("C%d", f.seq), Name: spec.Name}, nil
}

func (f *fakeChat) Post(_ context.Context, channel string, msg bot.Message) (bot.MessageRef, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seq++
	ref := bot.MessageRef{ChannelID: channel, TS: fmt.Sprintf("%d.0001", f.seq)}
	f.msgs = append(f.msgs, sent{Method: "post", Ref: ref, Msg: msg})
	return ref, nil
}

func (f *fakeChat) Update(_ context.Context, ref bot.MessageRef, msg bot.Message) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.msgs = append(f.msgs, sent{Method: "update", Ref: ref, Msg: msg})
	return nil
}

func (f *fakeChat) SetTopic(context.Context, string, string) error { return nil }
func (f *fakeChat) Invite(context.Context, string, []string) error { return nil }
func (f *fakeChat) Pin(context.Context, bot.MessageRef) error      { return nil }
func (f *fakeChat) Archive(context.Context, string) error          { return nil }
func (f *fakeChat) Upload(context.Context, string, bot.File) (bot.MessageRef, error) {
	return bot.MessageRef{}, nil
}

// Sent returns the messages whose title or text contains substr.
func (f *fakeChat) Sent(method, substr string) []sent {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []sent
	for _, m := range f.msgs {
		if m.Method == method && (strings.Contains(m.Msg.Title, substr) || strings.Contains(m.Msg.Text, substr)) {
			out = append(out, m)
		}
	}
	return out
}

// Last returns the newest version of the message at ref.
func (f *fakeChat) Last(ref bot.MessageRef) bot.Message {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := len(f.msgs) - 1; i >= 0; i-- {
		if f.msgs[i].Ref == ref {
			return f.msgs[i].Msg
		}
	}
	return bot.Message{}
}

// fakeDirectory knows user groups; err, when set, fails every lookup.
type fakeDirectory struct {
	groups map[string][]string
	err    error
}

func (d *fakeDirectory) User(_ context.Context, id string) (bot.ChatUser, error) {
	return bot.ChatUser{ID: id, Name: id}, nil
}

func (d *fakeDirectory) UserByEmail(context.Context, string) (bot.ChatUser, error) {
	return bot.ChatUser{}, bot.Errorf(bot.ENOTFOUND, "no one")
}

func (d *fakeDirectory) GroupMembers(_ context.Context, id string) ([]string, error) {
	if d.err != nil {
		return nil, d.err
	}
	m, ok := d.groups[id]
	if !ok {
		return nil, bot.Errorf(bot.ENOTFOUND, "no group %s", id)
	}
	return m, nil
}

// The test runbooks. record.sh appends "<step> <value>" to runs.log, so a
// test counts executions; block.sh waits until the test releases it.
var testRunbooks = map[string]string{
	"gated.yaml": `name: gated
title: Echo behind a two-person approval
match: {title: "(?i)cert"}
params:
  - name: msg
    pattern: '[^ ]+'
    required: true
steps:
  - name: audit
    action: exec
    with: {command: ["/bin/sh", "./record.sh", "audit", "{{ .msg }}"], timeout: 30s}
  - name: act
    action: exec
    with: {command: ["/bin/sh", "./record.sh", "act", "{{ .msg }}"], timeout: 30s}
    approval: {approvers: ["UAPPROVER", "SONCALL"], two_person: true, expires: 15m}
`,
	"echo.yaml": `name: echo
title: Echo without approval
params:
  - name: msg
    pattern: '[^ ]+'
    required: true
steps:
  - name: say
    action: exec
    with: {command: ["/bin/sh", "./record.sh", "say", "{{ .msg }}"], timeout: 30s}
`,
	"failing.yaml": `name: failing
title: A first step that fails
steps:
  - name: break
    action: exec
    with: {command: ["/bin/sh", "./fail.sh"], timeout: 30s}
  - name: after
    action: exec
    with: {command: ["/bin/sh", "./record.sh", "after", "x"], timeout: 30s}
`,
	"blocking.yaml": `name: blocking
title: A step that waits to be released
steps:
  - name: wait
    action: exec
    with: {command: ["/bin/sh", "./block.sh"], timeout: 60s}
`,
}

var testScripts = map[string]string{
	"record.sh": `printf '%s %s\n' "$1" "$2" >> runs.log
printf 'did %s with %s\n' "$1" "$2"
`,
	"fail.sh": `echo "the gateway said no" >&2
exit 3
`,
	"block.sh": `echo started >> started.log
i=0
while [ ! -f release ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done
echo released
`,
}

// env is one sitrep process under test: the store, the service with the
// runbook commands, the dispatcher with the chat and runbook handlers.
type env struct {
	t     *testing.T
	dir   string // the runbooks directory, also the commands' working directory
	path  string // the database file
	clock *testclock.Clock
	chat  *fakeChat
	users *fakeDirectory
	db    *store.DB
	svc   *bot.Service
	disp  *bot.Dispatcher
	runs  *runbooks.Runs
	inc   bot.Incident
	obs   *finishedRuns // told of finished runs (the metrics' observer)
	// replica, when set, makes this a replica among several on one
	// database (RunsConfig.Shared), named so.
	replica string
}

// finishedRuns is a bot.Observer that keeps the runs it is told finished,
// as "runbook:state".
type finishedRuns struct {
	mu  sync.Mutex
	got []string
}

func (f *finishedRuns) IncidentAcknowledged(bot.Incident, time.Duration) {}
func (f *finishedRuns) IncidentResolved(bot.Incident, time.Duration)     {}
func (f *finishedRuns) RunbookRunFinished(r bot.RunbookRun) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.got = append(f.got, r.Runbook+":"+string(r.State))
}

func (f *finishedRuns) list() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.got)
}

func newEnv(t *testing.T) *env {
	t.Helper()
	return newEnvAt(t, filepath.Join(t.TempDir(), "sitrep.db"))
}

// newEnvAt is newEnv with its database file at path.
func newEnvAt(t *testing.T, path string) *env {
	t.Helper()
	dir := t.TempDir()
	for name, body := range testRunbooks {
		writeFile(t, filepath.Join(dir, name), body, 0o644)
	}
	for name, body := range testScripts {
		writeFile(t, filepath.Join(dir, name), body, 0o755)
	}
	e := &env{t: t, dir: dir, path: path, clock: testclock.New(start), obs: &finishedRuns{},
		chat: &fakeChat{}, users: &fakeDirectory{groups: map[string][]string{"SONCALL": {"UMEMBER", "UREQ"}}}}
	e.open()
	inc, err := e.svc.Declare(t.Context(), bot.DeclareRequest{Actor: "UREQ", Title: "Gateway cert broken"})
	if err != nil {
		t.Fatal(err)
	}
	e.inc = inc
	e.settle()
	return e
}

// open starts a "process" over the database file.
func (e *env) open() {
	t := e.t
	db, err := store.Open(t.Context(), e.path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	cat, err := runbooks.Load(e.dir)
	if err != nil {
		t.Fatal(err)
	}
	e.db = db
	var obs bot.Observer // a replica's env has none: no typed nil in the interface
	if e.obs != nil {
		obs = e.obs
	}
	e.svc = bot.NewService(db, bot.ServiceConfig{Now: e.clock.Now, Observer: obs})
	e.disp = bot.NewDispatcher(db, bot.DispatcherOptions{Now: e.clock.Now, BaseBackoff: time.Millisecond, MaxBackoff: time.Millisecond})
	e.runs = runbooks.NewRuns(runbooks.RunsConfig{Catalog: cat, Directory: e.users, Chat: e.chat,
		Shared: e.replica != "", Runner: e.replica,
		Executor: runbooks.NewExecutors(runbooks.Options{WorkDir: e.dir, Now: e.clock.Now})})
	if err := bot.Wire(e.svc, e.disp, bot.ChatOps(e.chat), e.runs); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.runs.Wait)
}

// newReplica returns another process on e's database, its runbooks and its
// clock, both running as replicas: e becomes replica "a", the new one "b".
func newReplica(t *testing.T, e *env) *env {
	t.Helper()
	e.replica = "a"
	e.open()
	b := &env{t: t, dir: e.dir, path: e.path, clock: e.clock, chat: &fakeChat{}, users: e.users, inc: e.inc,
		replica: "b"}
	b.open()
	return b
}

// settle delivers the outbox and waits for started runs, until quiet.
func (e *env) settle() {
	e.t.Helper()
	for range 5 {
		if err := e.disp.Drain(e.t.Context()); err != nil {
			e.t.Fatal(err)
		}
		e.runs.Wait()
	}
}

// cmd runs "/incident <text>" in the incident as actor.
func (e *env) cmd(actor, text string) (bot.Reply, error) {
	return e.svc.Execute(e.t.Context(), bot.Invocation{Actor: actor, IncidentID: e.inc.ID, Text: text})
}

// request asks for a run and returns it.
func (e *env) request(actor, text string) bot.RunbookRun {
	e.t.Helper()
	if _, err := e.cmd(actor, text); err != nil {
		e.t.Fatalf("/incident %s: %v", text, err)
	}
	runs := e.allRuns()
	if len(runs) == 0 {
		e.t.Fatalf("/incident %s created no run", text)
	}
	return runs[len(runs)-1]
}

func (e *env) allRuns() []bot.RunbookRun {
	e.t.Helper()
	runs, err := e.db.RunbookRuns(e.t.Context(), bot.RunbookRunFilter{})
	if err != nil {
		e.t.Fatal(err)
	}
	return runs
}

func (e *env) run(id int64) bot.RunbookRun {
	e.t.Helper()
	r, err := e.db.RunbookRun(e.t.Context(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	return r
}

func (e *env) click(actor, action string, run bot.RunbookRun) (bot.Reply, error) {
	return e.svc.HandleAction(e.t.Context(), bot.ActionInvocation{Actor: actor, ActionID: action,
		Value: fmt.Sprint(run.ID)})
}

// events returns the timeline events of the given kind.
func (e *env) events(kind bot.EventKind) []bot.Event {
	e.t.Helper()
	evs, err := e.db.Timeline(e.t.Context(), e.inc.ID)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []bot.Event
	for _, ev := range evs {
		if ev.Kind == kind {
			out = append(out, ev)
		}
	}
	return out
}

func (e *env) kinds() []bot.EventKind {
	evs, err := e.db.Timeline(e.t.Context(), e.inc.ID)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []bot.EventKind
	for _, ev := range evs {
		if strings.HasPrefix(string(ev.Kind), "runbook_") {
			out = append(out, ev.Kind)
		}
	}
	return out
}

// executions returns the lines record.sh wrote.
func (e *env) executions() []string {
	b, err := os.ReadFile(filepath.Join(e.dir, "runs.log"))
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		e.t.Fatal(err)
	}
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}

// deliveries counts outbox entries of op.
func (e *env) deliveries(op string) int {
	ds, err := e.db.Deliveries(e.t.Context())
	if err != nil {
		e.t.Fatal(err)
	}
	n := 0
	for _, d := range ds {
		if d.Op == op {
			n++
		}
	}
	return n
}

// card returns the newest version of the run's card.
func (e *env) card(id int64) bot.Message {
	e.t.Helper()
	r := e.run(id)
	if r.CardTS == "" {
		e.t.Fatalf("%s has no card", r.Key())
	}
	return e.chat.Last(bot.MessageRef{ChannelID: r.CardChannel, TS: r.CardTS})
}

func actionIDs(m bot.Message) []string {
	var out []string
	for _, a := range m.Actions {
		out = append(out, a.ID)
	}
	return out
}

func hasKind(kinds []bot.EventKind, k bot.EventKind) bool { return slices.Contains(kinds, k) }

func writeFile(t *testing.T, path, body string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(body), mode); err != nil {
		t.Fatal(err)
	}
}

// waitFor polls cond with a generous deadline.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
