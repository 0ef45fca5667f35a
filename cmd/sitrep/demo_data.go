package main

import (
	"bytes"
	"embed"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// demoRunbooks are the runbooks the replay uses: the shipped ones' shape,
// pointed at the demo gateway (__GATEWAY__ becomes its address) and
// approved by the demo's on-call group.
//
//go:embed demodata/runbooks
var demoRunbooks embed.FS

// writeDemoRunbooks writes the demo runbooks to dir, with the gateway's
// address filled in; scripts are made executable.
func writeDemoRunbooks(dir, gateway string) error {
	const root = "demodata/runbooks"
	return fs.WalkDir(demoRunbooks, root, func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		target := filepath.Join(dir, filepath.FromSlash(strings.TrimPrefix(path, root)))
		if e.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		raw, err := demoRunbooks.ReadFile(path)
		if err != nil {
			return err
		}
		raw = bytes.ReplaceAll(raw, []byte("__GATEWAY__"), []byte(gateway))
		mode := os.FileMode(0o644)
		if strings.HasSuffix(path, ".sh") {
			mode = 0o755
		}
		if err := os.WriteFile(target, raw, mode); err != nil {
			return fmt.Errorf("demo: write runbook %s: %w", target, err)
		}
		return nil
	})
}

// demoPerson is one of the seed team, as Slack and PagerDuty know them.
// The seed names no one; these names are the demo's.
type demoPerson struct {
	ID, Handle, Name, Email string
}

var (
	lena = demoPerson{ID: "U0LENA", Handle: "lena", Name: "Lena Ortiz", Email: "lena@olla.example"} // lead engineer, on call first
	dev  = demoPerson{ID: "U0DEV", Handle: "dev", Name: "Dev Patel", Email: "dev@olla.example"}     // engineer, on call second
	cam  = demoPerson{ID: "U0CAM", Handle: "cam", Name: "Cam Rivera", Email: "cam@olla.example"}    // support, keeps the status page

	demoPeople = []demoPerson{lena, dev, cam}
)

// mention is how Slack writes a user in a slash command's text.
func (p demoPerson) mention() string { return "<@" + p.ID + "|" + p.Handle + ">" }

// demoAlertTitle is the monitoring alert the seed's lead engineer received.
const demoAlertTitle = "Platform API returning 500"

// seedTime is a time on the seed night, 2020-10-08 UTC ("HH:MM:SS"); the
// seed's status page gives UTC, its postmortem Pacific time (UTC-7).
func seedTime(hms string) time.Time {
	t, err := time.Parse(time.RFC3339, "2020-10-08T"+hms+"Z")
	if err != nil {
		panic("demo: bad seed time " + hms)
	}
	return t
}

// The seed's status-page posts, verbatim (the first one was posted five
// times).
const (
	seedInvestigating = "Some customers may be experiencing issues accessing their online store. Our engineers are investigating the root cause of this issue, and we will provide updates as soon as possible. We are working to resolve this ASAP."
	seedStillLooking  = "We are continuing to investigate this issue - we'll continue to post updates in real-time via this status page.\n\n" +
		"We understand the impact any downtime has and appreciate your patience while we work through this.\n\n" +
		"We sincerely apologize for this inconvenience & assure you that all efforts are focused on getting your online stores running ASAP!"
	seedMonitoring = "A fix has been implemented for this issue and full functionality for accessing online stores has been resumed."
	seedResolved   = "This incident has been resolved and full functionality has been restored. We will post a post-mortem tomorrow with more technical details and the steps we'll be taking to address this going forward.\n\n" +
		"On behalf of the entire team, we sincerely apologize for this incident and the impact it’s had on your business. We thank you all for your patience and understanding while confronted with this outage."
)

// tailBuffer keeps the last max bytes written to it: sitrep's log, shown
// when the replay fails.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

// lastLines returns the last n lines kept.
func (t *tailBuffer) lastLines(n int) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	lines := strings.Split(strings.TrimRight(string(t.buf), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
