package ratelog_test

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/sitrep-io/sitrep/internal/ratelog"
	"github.com/sitrep-io/sitrep/internal/testclock"
)

// TestRepeatedFailuresAreCounted: 13,000 identical errors within an
// interval give one line; the first of the next interval says how many were
// left out. Other kinds and lines below Warn are not held back.
func TestRepeatedFailuresAreCounted(t *testing.T) {
	var buf bytes.Buffer
	clock := testclock.New(time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC))
	log := slog.New(ratelog.New(slog.NewTextHandler(&buf, nil), 10*time.Second, clock.Now))
	for i := range 13000 {
		log.With("delivery", i).Error("record delivery", "err", "disk full")
		if i%1000 == 0 {
			log.Info("progress", "i", i)
		}
	}
	log.Warn("another kind")
	clock.Advance(10 * time.Second)
	log.Error("record delivery", "err", "disk full")

	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	var records, infos, others int
	for _, l := range lines {
		switch {
		case strings.Contains(l, `msg="record delivery"`):
			records++
		case strings.Contains(l, "progress"):
			infos++
		case strings.Contains(l, "another kind"):
			others++
		}
	}
	if records != 2 || infos != 13 || others != 1 {
		t.Fatalf("%d record lines, %d info lines, %d other warnings; want 2, 13, 1:\n%s", records, infos, others, buf.String())
	}
	if last := lines[len(lines)-1]; !strings.Contains(last, "repeated=12999") {
		t.Errorf("the next interval's line does not count what was left out: %s", last)
	}
}
