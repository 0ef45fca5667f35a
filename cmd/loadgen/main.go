// Command loadgen measures sitrep under an alert storm: it posts signed
// PagerDuty v3 and Alertmanager webhooks over loopback, reports accepted/s
// and p50/p99/max latency, checks the resulting incidents and timeline
// events (exactly one incident per group; every alert recorded once), and
// in the same run measures a baseline: the same requests to a bare handler
// that does one SQLite insert each, so the result is a ratio that survives a
// noisy machine.
//
//	go run ./cmd/loadgen -n 10000 -groups 50 -c 32 -rounds 3
//
// Each round measures sitrep (on a fresh database) and the baseline one
// after the other, alternating which goes first, and also reports the CPU
// time the process spent per request in each. The summary is the median
// round: on a machine shared with other work the load changes from one
// second to the next, and one pair of measurements can be off either way.
//
// By default it starts sitrep's webhook handlers in process on
// 127.0.0.1 with a fresh database. -target points it at a running server
// instead (loopback only; -db names that server's database so the counts can
// be checked). -chat slack makes the in-process sitrep deliver to a fake
// Slack that enforces Slack's tiers, through the real adapter and pacing,
// during the storm, and reports how long a SEV1 declared while the storm's
// channels queue takes to get its channel, card and invitation, and how
// long the storm's channels and posts take to reach Slack.
//
// -db postgres://… (a server URL whose user may create databases) runs the
// in-process sitrep on PostgreSQL: each round creates a database of its own
// on that server for sitrep and one for the baseline (a bare handler doing
// one PostgreSQL insert per request) and drops them at its end. -replicas N
// then starts N sitrep servers on that one database and splits the storm
// between them round robin; each redelivery goes to another replica than
// its original, so dedup is checked across replicas.
//
// Every run is bounded in requests (-n, at most 100,000) and in time
// (-timeout).
package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"time"

	"github.com/sitrep-io/sitrep/store/postgres"
)

// options are the command line.
type options struct {
	n, groups, concurrency int
	dups                   int // redeliveries sent after the storm
	timeout                time.Duration
	target, db             string
	replicas               int // in-process servers on the one (PostgreSQL) database
	secret, token          string
	baseline               bool
	rounds                 int
	cpuprofile             string
	chat                   string        // console (discarded) or slack (the fake Slack, real adapter)
	slackWait              time.Duration // -chat slack: how long to wait for the storm's channels and cards
}

const maxRequests = 100_000

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

func parseFlags(args []string) (options, error) {
	var o options
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fs.IntVar(&o.n, "n", 10_000, "webhooks to send (half PagerDuty, half Alertmanager)")
	fs.IntVar(&o.groups, "groups", 50, "alert groups (incidents) they belong to")
	fs.IntVar(&o.concurrency, "c", 32, "concurrent senders")
	fs.IntVar(&o.dups, "dups", 500, "redeliveries of already-sent webhooks, sent after the storm (must change nothing)")
	fs.DurationVar(&o.timeout, "timeout", 5*time.Minute, "stop after this long whatever happens")
	fs.StringVar(&o.target, "target", "", "base URL of a running sitrep (loopback only); empty: start one in process")
	fs.StringVar(&o.db, "db", "", "without -target: empty for a SQLite file in a temporary directory, or a postgres:// server URL on which each round creates (and drops) a database of its own, for sitrep and for the baseline; with -target: that server's database (file or postgres:// URL), to check the counts")
	fs.IntVar(&o.replicas, "replicas", 1, "in-process sitrep servers on the one database (more than 1: -db postgres://… only), the storm's requests split between them round robin")
	fs.StringVar(&o.secret, "secret", "loadgen-secret", "PAGERDUTY_WEBHOOK_SECRET of the target")
	fs.StringVar(&o.token, "token", "loadgen-token", "SITREP_WEBHOOK_TOKEN of the target")
	fs.BoolVar(&o.baseline, "baseline", true, "also measure the bare one-insert handler")
	fs.IntVar(&o.rounds, "rounds", 3, "sitrep+baseline measurements to take; the summary is their median (with -target: 1)")
	fs.StringVar(&o.cpuprofile, "cpuprofile", "", "write a CPU profile of the sitrep storm to this file")
	fs.StringVar(&o.chat, "chat", "console", "chat the in-process sitrep delivers to: console (discarded) or slack (a fake Slack enforcing Slack's tiers, through the real adapter and pacing)")
	fs.DurationVar(&o.slackWait, "slack-wait", 5*time.Minute, "with -chat slack: how long round 1 waits for the storm's channels and cards to reach Slack")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	switch {
	case o.n < 2 || o.n > maxRequests:
		return o, fmt.Errorf("-n must be between 2 and %d", maxRequests)
	case o.groups < 2 || o.groups > o.n:
		return o, errors.New("-groups must be between 2 and -n")
	case o.concurrency < 1 || o.concurrency > 512:
		return o, errors.New("-c must be between 1 and 512")
	case o.dups < 0 || o.dups > o.n:
		return o, errors.New("-dups must be between 0 and -n")
	case o.rounds < 1 || o.rounds > 10:
		return o, errors.New("-rounds must be between 1 and 10")
	case o.chat != "console" && o.chat != "slack":
		return o, errors.New("-chat must be console or slack")
	case o.chat == "slack" && o.target != "":
		return o, errors.New("-chat slack: a running server (-target) delivers to its own chat")
	case o.replicas < 1 || o.replicas > 4:
		return o, errors.New("-replicas must be between 1 and 4")
	case o.replicas > 1 && (o.target != "" || !postgres.IsURL(o.db)):
		return o, errors.New("-replicas: several in-process servers share one database only on PostgreSQL (-db postgres://…, no -target)")
	case o.replicas > 1 && o.chat == "slack":
		return o, errors.New("-replicas: -chat slack follows one replica's deliveries; use -chat console")
	case o.db != "" && postgres.IsURL(o.db) && postgres.CheckURL(o.db) != nil:
		return o, fmt.Errorf("-db: %w", postgres.CheckURL(o.db))
	case o.rounds > 1 && o.target != "":
		return o, errors.New("-rounds: a running server (-target) is measured once; its database is not fresh again")
	}
	return o, nil
}

func run(ctx context.Context, args []string, out io.Writer) error {
	o, err := parseFlags(args)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	reqs := buildRequests(o)
	fmt.Fprintf(out, "storm: %d webhooks (%d PagerDuty, %d Alertmanager) for %d groups, %d senders, %d redeliveries, %d round(s), store %s, %d replica(s), GOMAXPROCS %d, load average %s\n",
		o.n, countPD(reqs), o.n-countPD(reqs), o.groups, o.concurrency, o.dups, o.rounds, o.storeName(), o.replicas, runtime.GOMAXPROCS(0), loadAverage())
	var rounds []roundResult
	for r := range o.rounds {
		rr, err := runRound(ctx, out, o, reqs, r)
		if err != nil {
			return err
		}
		rounds = append(rounds, rr)
	}
	if o.baseline {
		summarize(out, rounds)
	}
	return nil
}

// roundResult is one round's sitrep and baseline measurements.
type roundResult struct {
	sitrep, base result
}

func (r roundResult) ratio() float64 { return r.sitrep.rate() / r.base.rate() }

// runRound measures sitrep and (unless disabled) the baseline once; odd
// rounds measure the baseline first, so a drift in the machine's load does
// not always favour the same side.
func runRound(ctx context.Context, out io.Writer, o options, reqs []request, r int) (roundResult, error) {
	var rr roundResult
	steps := []func() error{
		func() (err error) { rr.sitrep, err = runSitrep(ctx, out, o, reqs, r == 0); return err },
	}
	if o.baseline {
		base := func() (err error) {
			rr.base, err = measure(func() (result, error) {
				if postgres.IsURL(o.db) {
					return runBaselinePostgres(ctx, o.db, reqs, o.concurrency)
				}
				return runBaseline(ctx, reqs, o.concurrency)
			})
			if err != nil {
				return fmt.Errorf("baseline: %w", err)
			}
			fmt.Fprintln(out, rr.base.line("baseline"))
			return nil
		}
		if r%2 == 1 {
			steps = append([]func() error{base}, steps...)
		} else {
			steps = append(steps, base)
		}
	}
	fmt.Fprintf(out, "round %d (load average %s)\n", r+1, loadAverage())
	for _, step := range steps {
		if err := step(); err != nil {
			return rr, err
		}
	}
	if o.baseline {
		fmt.Fprintf(out, "ratio        %.2f\n", rr.ratio())
	}
	return rr, nil
}

// runSitrep starts (or reaches) sitrep, sends the storm and the
// redeliveries, checks the database and stops sitrep again, so nothing of
// it runs beside the baseline.
func runSitrep(ctx context.Context, out io.Writer, o options, reqs []request, first bool) (result, error) {
	targets, counts, proc, stop, err := startTarget(ctx, o)
	if err != nil {
		return result{}, err
	}
	defer stop()
	stopProfile := func() {}
	if first {
		if stopProfile, err = startProfile(o.cpuprofile); err != nil {
			return result{}, err
		}
	}
	stormStart := time.Now()
	res, err := measure(func() (result, error) { return fire(ctx, targets, reqs, o.concurrency) })
	stopProfile()
	if err != nil {
		return res, err
	}
	fmt.Fprintln(out, res.line("sitrep"))
	// Each redelivery goes to another replica than its original did
	// (round robin shifted by one): dedup must hold across replicas.
	dupRes, err := fire(ctx, append(targets[1:len(targets):len(targets)], targets[0]), reqs[:o.dups], o.concurrency)
	if err != nil {
		return res, err
	}
	if o.dups > 0 {
		fmt.Fprintln(out, dupRes.line("redeliveries"))
	}
	if counts == nil {
		return res, nil
	}
	if err := verify(ctx, out, counts, o, res.accepted+dupRes.accepted, len(reqs)+o.dups); err != nil {
		return res, err
	}
	if proc != nil && proc.slack != nil && first { // round 1: the Slack side takes minutes (Tier 2)
		return res, proc.slack.followStorm(ctx, out, counts, proc.svc, stormStart, o.slackWait)
	}
	return res, nil
}

// summarize reports the median round against the goals.
func summarize(out io.Writer, rounds []roundResult) {
	byRatio := slices.Clone(rounds)
	slices.SortFunc(byRatio, func(a, b roundResult) int { return cmp.Compare(a.ratio(), b.ratio()) })
	p99s := make([]time.Duration, 0, len(rounds))
	for _, r := range rounds {
		p99s = append(p99s, r.sitrep.p(0.99))
	}
	slices.Sort(p99s)
	med := byRatio[len(byRatio)/2]
	medP99 := p99s[len(p99s)/2]
	p99Ratios := make([]float64, 0, len(rounds))
	for _, r := range rounds {
		p99Ratios = append(p99Ratios, float64(r.sitrep.p(0.99))/float64(r.base.p(0.99)))
	}
	slices.Sort(p99Ratios)
	medP99Ratio := p99Ratios[len(p99Ratios)/2]
	fmt.Fprintf(out, "summary: %d round(s); median ratio sitrep/baseline throughput %.3f (%.0f vs %.0f accepted/s; goal ≥ 0.50: %s); "+
		"median sitrep p99 %s (worst %s; goal < 20ms: %s); median p99 sitrep/baseline %.2f× (goal ≤ 1.5×: %s); ratios %s\n",
		len(rounds), med.ratio(), med.sitrep.rate(), med.base.rate(), met(med.ratio() >= 0.5),
		medP99.Round(10*time.Microsecond), p99s[len(p99s)-1].Round(10*time.Microsecond), met(medP99 < 20*time.Millisecond),
		medP99Ratio, met(medP99Ratio <= 1.5), ratios(rounds))
}

func met(ok bool) string {
	if ok {
		return "met"
	}
	return "NOT met"
}

func ratios(rounds []roundResult) string {
	s := make([]string, 0, len(rounds))
	for _, r := range rounds {
		s = append(s, fmt.Sprintf("%.2f", r.ratio()))
	}
	return strings.Join(s, " ")
}

// startProfile starts a CPU profile into path (none when empty) and returns
// its stop.
func startProfile(path string) (func(), error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

// storeName says which store the run measures, for the report.
func (o options) storeName() string {
	if postgres.IsURL(o.db) {
		return "PostgreSQL " + postgres.Redact(o.db)
	}
	return "SQLite"
}
