// Command loadgen measures sitrep under an alert storm: it posts signed
// PagerDuty v3 and Alertmanager webhooks over loopback, reports accepted/s
// and p50/p99/max latency, checks the resulting incidents and timeline
// events (exactly one incident per group; every alert recorded once), and
// in the same run measures a baseline: the same requests to a bare handler
// that does one SQLite insert each, so the result is a ratio that survives a
// noisy machine.
//
//	go run ./cmd/loadgen -n 10000 -groups 50 -c 32
//
// By default it starts sitrep's webhook handlers in process on
// 127.0.0.1 with a fresh database. -target points it at a running server
// instead (loopback only; -db names that server's database so the counts can
// be checked). Every run is bounded in requests (-n, at most 100,000) and in
// time (-timeout).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"time"
)

// options are the command line.
type options struct {
	n, groups, concurrency int
	dups                   int // redeliveries sent after the storm
	timeout                time.Duration
	target, db             string
	secret, token          string
	baseline               bool
	cpuprofile             string
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
	fs.StringVar(&o.db, "db", "", "with -target: that server's database file, to check the counts")
	fs.StringVar(&o.secret, "secret", "loadgen-secret", "PAGERDUTY_WEBHOOK_SECRET of the target")
	fs.StringVar(&o.token, "token", "loadgen-token", "SITREP_WEBHOOK_TOKEN of the target")
	fs.BoolVar(&o.baseline, "baseline", true, "also measure the bare one-insert handler")
	fs.StringVar(&o.cpuprofile, "cpuprofile", "", "write a CPU profile of the sitrep storm to this file")
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
	target, counts, stop, err := startTarget(ctx, o)
	if err != nil {
		return err
	}
	defer stop()
	fmt.Fprintf(out, "storm: %d webhooks (%d PagerDuty, %d Alertmanager) for %d groups, %d senders, target %s\n",
		o.n, countPD(reqs), o.n-countPD(reqs), o.groups, o.concurrency, target)
	stopProfile, err := startProfile(o.cpuprofile)
	if err != nil {
		return err
	}
	res, err := fire(ctx, target, reqs, o.concurrency)
	stopProfile()
	if err != nil {
		return err
	}
	fmt.Fprintln(out, res.line("sitrep"))
	dupRes, err := fire(ctx, target, reqs[:o.dups], o.concurrency)
	if err != nil {
		return err
	}
	if o.dups > 0 {
		fmt.Fprintln(out, dupRes.line("redeliveries"))
	}
	var verr error
	if counts != nil {
		verr = verify(ctx, out, counts, o, res.accepted+dupRes.accepted, len(reqs)+o.dups)
	}
	if o.baseline {
		base, err := runBaseline(ctx, reqs, o.concurrency)
		if err != nil {
			return fmt.Errorf("baseline: %w", err)
		}
		fmt.Fprintln(out, base.line("baseline"))
		fmt.Fprintf(out, "ratio: sitrep/baseline throughput %.2f (goal ≥ 0.50); sitrep p99 %s (goal < 20ms)\n",
			res.rate()/base.rate(), res.p(0.99).Round(10*time.Microsecond))
	}
	return verr
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
