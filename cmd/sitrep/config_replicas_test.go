package main

import (
	"strings"
	"testing"
	"time"
)

// TestReplicaSettings: the heartbeat timeout and the replica count have
// defaults, are read from the environment, and bad values are refused
// naming the variable.
func TestReplicaSettings(t *testing.T) {
	env := func(vars map[string]string) func(string) string { return func(k string) string { return vars[k] } }
	c, err := LoadConfig("", false, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Runbooks.HeartbeatTimeout != 45*time.Second || c.Slack.Replicas != 1 {
		t.Errorf("defaults: heartbeat timeout %s, replicas %d; want 45s, 1", c.Runbooks.HeartbeatTimeout, c.Slack.Replicas)
	}
	c, err = LoadConfig("", false, env(map[string]string{"SITREP_RUNBOOK_HEARTBEAT_TIMEOUT": "1m", "SITREP_REPLICAS": "3"}))
	if err != nil || c.Runbooks.HeartbeatTimeout != time.Minute || c.Slack.Replicas != 3 {
		t.Errorf("from the environment: %s, %d, %v; want 1m, 3", c.Runbooks.HeartbeatTimeout, c.Slack.Replicas, err)
	}
	for name, bad := range map[string][]string{
		"SITREP_RUNBOOK_HEARTBEAT_TIMEOUT": {"soon", "-5s", "500ms"},
		"SITREP_REPLICAS":                  {"0", "-1", "two", "1.5"},
	} {
		for _, v := range bad {
			if _, err := LoadConfig("", false, env(map[string]string{name: v})); err == nil || !strings.Contains(err.Error(), name) {
				t.Errorf("%s=%s: %v, want an error naming the variable", name, v, err)
			}
		}
	}
}
