package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestSmallStorm runs the tool end to end with a small count: a smoke test
// of its wiring and checks, not a measurement.
func TestSmallStorm(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"-n", "200", "-groups", "10", "-c", "8", "-dups", "50", "-rounds", "1"}, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	for _, want := range []string{"10 incidents (want 10), 200 alert events (want 200)", "result: OK", "baseline", "cpu/req",
		"summary: 1 round(s); median ratio sitrep/baseline throughput"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

// TestSmallStormWithSlack runs the tool with -chat slack: the storm's
// channels and cards and a declared incident reach the fake Slack through
// the real adapter, within Slack's tiers. A smoke test of the wiring.
func TestSmallStormWithSlack(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"-n", "60", "-groups", "3", "-c", "4", "-dups", "10", "-rounds", "1", "-chat", "slack"}, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	for _, want := range []string{"result: OK", "slack: declared SEV1 while", "slack: storm's 3 channels all created", "0 calls answered 429",
		"median p99 sitrep/baseline"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestLoopbackOnly(t *testing.T) {
	for target, ok := range map[string]bool{
		"http://127.0.0.1:8080": true, "http://localhost:8080": true, "http://[::1]:8080": true, "http://127.9.9.9": true,
		"http://10.0.0.1:8080": false, "http://192.168.1.2": false, "http://example.com": false, "https://127.0.0.1": false,
	} {
		if err := loopbackOnly(target); (err == nil) != ok {
			t.Errorf("%s: err %v, want allowed=%v", target, err, ok)
		}
	}
}

func TestFlagsBounded(t *testing.T) {
	for _, args := range [][]string{{"-n", "1000000"}, {"-n", "10", "-groups", "20"}, {"-c", "0"}, {"-rounds", "0"}, {"-rounds", "11"},
		{"-target", "http://127.0.0.1:8080", "-rounds", "2"}, {"-chat", "teams"}, {"-chat", "slack", "-target", "http://127.0.0.1:8080"}} {
		if _, err := parseFlags(args); err == nil {
			t.Errorf("%v: want an error", args)
		}
	}
}
