package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sitrep-io/sitrep/internal/ghfake"
	"github.com/sitrep-io/sitrep/internal/pdfake"
	"github.com/sitrep-io/sitrep/internal/slackfake"
	"github.com/sitrep-io/sitrep/store"
)

// `sitrep demo` replays the seed outage (an API gateway's certificate
// renewal wrote a bad configuration; every store answered 500 for 4h 31m)
// through the real server: the HTTP endpoints, the signature checks, the
// store, the outbox and its dispatcher, the runbook executors, the
// postmortem drafter and the GitHub exporter. Only the vendors are stand-ins
// (the wire-level fakes of Slack, PagerDuty and GitHub) and the API gateway
// is a local HTTPS server; everything listens on loopback and nothing needs
// a credential. The replay keeps the seed's clock: each step happens at the
// time the seed records for it.

const demoUsage = "usage: sitrep demo [--out FILE] [--pace DURATION] [--verbose]"

// demoDefaultOut is where the drafted postmortem is written.
const demoDefaultOut = "sitrep-demo-postmortem.md"

// demoDefaultPace is the pause between the seed's steps, so that a person
// can read along: about 20 s for the whole night.
const demoDefaultPace = 1500 * time.Millisecond

// demoStepTimeout bounds how long sitrep may take to finish the work one
// step causes (deliveries, runbook runs) before the demo gives up.
const demoStepTimeout = 30 * time.Second

// demoCommand runs `sitrep demo`.
func demoCommand(ctx context.Context, e env, args []string) error {
	fs := flag.NewFlagSet("sitrep demo", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	out := fs.String("out", demoDefaultOut, "write the drafted postmortem to this file")
	verbose := fs.Bool("verbose", false, "show sitrep's log on standard error")
	pace := fs.Duration("pace", demoDefaultPace, "pause this long between steps, to follow along; 0: as fast as sitrep goes")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 || *out == "" || *pace < 0 {
		return &usageError{msg: demoUsage}
	}
	logs := io.Writer(&tailBuffer{max: 64 << 10})
	if *verbose {
		logs = e.stderr
	}
	_, err := runDemo(ctx, demoOptions{w: e.stdout, logs: logs, out: *out, pace: *pace})
	if tail, ok := logs.(*tailBuffer); ok && err != nil && !errors.Is(err, context.Canceled) {
		if last := tail.lastLines(40); last != "" {
			fmt.Fprintf(e.stderr, "sitrep's log (last lines):\n%s\n", last)
		}
	}
	return err
}

// demoResult is what a replay produced.
type demoResult struct {
	Postmortem string             // the file written
	PullURL    string             // the pull request on the GitHub stand-in
	Pull       ghfake.PullRequest // as the GitHub stand-in holds it
	PullPath   string             // the postmortem's path on the pull request's branch
	Elapsed    time.Duration
}

// demoOptions say where the replay writes and how fast it goes.
type demoOptions struct {
	w    io.Writer     // the channel transcript
	logs io.Writer     // sitrep's log
	out  string        // the postmortem file
	pace time.Duration // pause between steps, for people watching
	// prepare, when set, is called with the started replay before its
	// first step (tests inject vendor faults with it).
	prepare func(d *demo)
}

// runDemo replays the seed night, printing the channel transcript and
// writing the exported postmortem to opt.out.
func runDemo(ctx context.Context, opt demoOptions) (demoResult, error) {
	started := time.Now()
	w, out := opt.w, opt.out
	if err := checkWritable(out); err != nil {
		return demoResult{}, err
	}
	d, err := startDemo(ctx, w, opt.logs)
	if err != nil {
		return demoResult{}, err
	}
	defer d.close()
	d.pace = opt.pace
	if opt.prepare != nil {
		opt.prepare(d)
	}
	if err := d.replaySeed(); err != nil {
		return demoResult{}, err
	}
	res, content, err := d.exported()
	if err != nil {
		return demoResult{}, err
	}
	pager, err := d.pagerDutyWrittenBack()
	if err != nil {
		return demoResult{}, err
	}
	if err := os.WriteFile(out, []byte(content), 0o644); err != nil {
		return demoResult{}, fmt.Errorf("write the postmortem to %s: %w", out, err)
	}
	res.Postmortem, res.Elapsed = out, time.Since(started)
	if abs, err := filepath.Abs(out); err == nil {
		res.Postmortem = abs
	}
	fmt.Fprintf(w, "\n%s\n", pager)
	fmt.Fprintf(w, "Postmortem draft (as exported): %s\n", res.Postmortem)
	fmt.Fprintf(w, "GitHub pull request #%d on the local GitHub stand-in (%s, %s → %s, adds %s): %s\n",
		res.Pull.Number, res.Pull.State, res.Pull.Head, res.Pull.Base, res.PullPath, res.PullURL)
	steps := seedSteps()
	span := seedTime(steps[len(steps)-1].At).Sub(seedTime(steps[0].At))
	fmt.Fprintf(w, "Replayed %dh %02dm of the seed night in %s.\n", int(span.Hours()), int(span.Minutes())%60,
		res.Elapsed.Round(100*time.Millisecond))
	return res, nil
}

// checkWritable fails, before the replay rather than after it, when the
// postmortem cannot be written to path; an existing file is left as it is
// until the replay succeeds.
func checkWritable(path string) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".sitrep-demo-*")
	if err == nil {
		f.Close()
		err = os.Remove(f.Name())
	}
	if err != nil {
		return fmt.Errorf("cannot write the postmortem next to %s (choose another file with --out): %w", path, err)
	}
	return nil
}

// demo is one replay: the stand-ins, the running server and what the replay
// has learned about it.
type demo struct {
	ctx   context.Context
	clock *demoClock
	tr    *transcript

	tmp     string
	slack   *slackfake.Server
	pd      *pdfake.Server
	gh      *ghfake.Server
	gateway *demoGateway
	db      *store.DB // a second handle on the server's database, to watch its outbox drain
	base    string    // the server's http://host:port
	client  *http.Client
	wake    func() // the dispatcher's, after the clock moves
	pace    time.Duration

	incident int64  // the incident's id, once the alert opened it
	channel  string // its channel's id
	chanName string

	stopServe func() error
}

// Stand-in identities. Secrets are the demo's own, random per run where
// the stand-in lets us choose.
const (
	demoBroadcast   = "incidents"
	demoPDPolicy    = "PEPLATF"
	demoPDIncident  = "Q0SEED0PLATFRM"
	demoPDService   = "PSVCAPI"
	demoGitHubOwner = "olla"
	demoGitHubRepo  = "incidents"
	demoApprovers   = "S0SREONCALL"
)

// startDemo starts the stand-ins and the real server wired to them.
func startDemo(ctx context.Context, w io.Writer, logs io.Writer) (_ *demo, err error) {
	d := &demo{ctx: ctx, clock: newDemoClock(seedTime("00:05:00")), client: &http.Client{Timeout: 20 * time.Second}}
	defer func() {
		if err != nil {
			d.close()
		}
	}()
	if d.tmp, err = os.MkdirTemp("", "sitrep-demo-"); err != nil {
		return nil, fmt.Errorf("demo: temporary directory: %w", err)
	}
	// The certificate was issued by an earlier, successful renewal and is
	// valid for months: it is not what breaks.
	if d.gateway, err = startDemoGateway(seedTime("00:05:00").AddDate(0, 0, -28)); err != nil {
		return nil, err
	}
	runbooksDir := filepath.Join(d.tmp, "runbooks")
	if err := writeDemoRunbooks(runbooksDir, d.gateway.Addr()); err != nil {
		return nil, err
	}
	d.startVendors()
	loc, err := time.LoadLocation(demoTimezone)
	if err != nil {
		return nil, fmt.Errorf("demo: time zone %s: %w", demoTimezone, err)
	}
	d.tr = newTranscript(w, d.slack, d.clock.Now, loc, demoPeople)

	vars := d.serverEnv(runbooksDir)
	cfg, err := LoadConfig("", false, demoGetenv(vars))
	if err != nil {
		return nil, fmt.Errorf("demo: configuration: %w", err)
	}
	if err := d.startServer(cfg, vars, logs); err != nil {
		return nil, err
	}
	if d.db, err = store.Open(ctx, cfg.DB); err != nil {
		return nil, fmt.Errorf("demo: watch the database: %w", err)
	}
	return d, nil
}

// demoTimezone is the seed team's: the postmortem shows PDT beside UTC.
const demoTimezone = "America/Los_Angeles"

// startVendors starts the Slack, PagerDuty and GitHub stand-ins and seeds
// them with the seed team: who is in Slack, who is on call in PagerDuty.
func (d *demo) startVendors() {
	d.slack = slackfake.New(nil)
	for _, p := range demoPeople {
		d.slack.AddUser(slackfake.User{ID: p.ID, Name: p.Handle, RealName: p.Name, DisplayName: p.Name, Email: p.Email, TZ: demoTimezone})
	}
	d.slack.AddUserGroup(demoApprovers, lena.ID, dev.ID)
	d.slack.AddChannel(slackfake.Channel{ID: "C0INCIDENTS", Name: demoBroadcast})

	d.pd = pdfake.New(nil)
	d.pd.SetNow(d.clock.Now)
	for level, p := range []demoPerson{lena, dev} {
		u := pdfake.User{ID: "P" + strings.TrimPrefix(p.ID, "U0"), Name: p.Name, Email: p.Email}
		d.pd.AddUser(u)
		d.pd.AddOnCall(demoPDPolicy, u, level+1)
	}
	d.pd.AddIncident(demoPDIncident, pdfake.StatusTriggered, demoPDPolicy, pdfake.Title(demoAlertTitle),
		pdfake.Number(1), pdfake.Service(demoPDService, "Platform API"), pdfake.Urgency("high"))

	d.gh = ghfake.New(nil, demoGitHubOwner, demoGitHubRepo)
	d.gh.SetNow(d.clock.Now)
}

// Secrets the demo's signed requests use; the server is configured with
// them and nothing else knows them.
const (
	demoSlackSecret = "demo-slack-signing-secret"
	demoPDSecret    = "demo-pagerduty-webhook-secret"
)

// serverEnv is the server's whole configuration, as environment variables:
// none of the caller's environment or sitrep.yaml reaches the demo.
func (d *demo) serverEnv(runbooksDir string) map[string]string {
	return map[string]string{
		"SITREP_ADDR": "127.0.0.1:0", "SITREP_DB": filepath.Join(d.tmp, "sitrep.db"), "SITREP_CONSOLE": "off",
		"SITREP_LOG_LEVEL": "info", "SITREP_SHUTDOWN_TIMEOUT": "10s", "SITREP_TIMEZONE": demoTimezone,
		"SITREP_RUNBOOKS": runbooksDir, "SITREP_BROADCAST_CHANNEL": "C0INCIDENTS",
		"SLACK_BOT_TOKEN": slackfake.BotToken, "SLACK_SIGNING_SECRET": demoSlackSecret, "SLACK_API_URL": d.slack.URL(),
		"PAGERDUTY_WEBHOOK_SECRET": demoPDSecret, "PAGERDUTY_TOKEN": d.pd.Token(), "PAGERDUTY_FROM": lena.Email,
		"PAGERDUTY_API_URL": d.pd.URL(),
		"GITHUB_TOKEN":      d.gh.Token(), "GITHUB_REPO": demoGitHubOwner + "/" + demoGitHubRepo, "GITHUB_API_URL": d.gh.URL(),
		// The customers' status page: sitrep's built-in one, on loopback.
		"SITREP_STATUS_ADDR": "127.0.0.1:0", "SITREP_STATUS_TITLE": "Olla status",
	}
}

// startServer runs serve with the replay's clock and waits until it listens.
func (d *demo) startServer(cfg Config, vars map[string]string, logs io.Writer) error {
	sctx, cancel := context.WithCancel(context.WithoutCancel(d.ctx))
	addrc := make(chan net.Addr, 1)
	wakec := make(chan func(), 1)
	done := make(chan error, 1)
	hooks := &serveHooks{
		onListen:     func(a net.Addr) { addrc <- a },
		onDispatcher: func(wake func()) { wakec <- wake },
		now:          d.clock.Now,
		runbookRoots: d.gateway.roots,
		chatPacing:   demoPacing(),
	}
	e := env{getenv: demoGetenv(vars), stdin: strings.NewReader(""), stdout: io.Discard, stderr: logs}
	go func() { done <- serve(sctx, cfg, e, hooks) }()
	d.stopServe = func() error {
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(cfg.ShutdownTimeout + 5*time.Second):
			return errors.New("the server did not stop in time")
		}
	}
	select {
	case a := <-addrc:
		d.base = "http://" + a.String()
		d.wake = <-wakec // given before the server listens
		return nil
	case err := <-done:
		d.stopServe = nil
		return fmt.Errorf("demo: the server did not start: %w", err)
	case <-time.After(demoStepTimeout):
		return errors.New("demo: the server did not start within 30s")
	case <-d.ctx.Done():
		return d.ctx.Err()
	}
}

// close stops the server and the stand-ins and removes the temporary files.
func (d *demo) close() {
	if d.stopServe != nil {
		_ = d.stopServe()
	}
	if d.db != nil {
		d.db.Close()
	}
	if d.slack != nil {
		d.slack.Close()
	}
	if d.pd != nil {
		d.pd.Close()
	}
	if d.gh != nil {
		d.gh.Close()
	}
	if d.gateway != nil {
		d.gateway.Close()
	}
	if d.tmp != "" {
		os.RemoveAll(d.tmp)
	}
}

// demoGetenv returns a getenv over vars.
func demoGetenv(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}
