package bot_test

import (
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // America/Los_Angeles wherever the tests run

	"github.com/sitrep-io/sitrep/bot"
)

func la(t *testing.T) *time.Location {
	t.Helper()
	l, err := time.LoadLocation("America/Los_Angeles")
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func mustUTC(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestParseImpactTimeAcrossDST(t *testing.T) {
	la := la(t)
	now := mustUTC("2020-11-01T12:00:00Z") // 04:00 PST, after the clocks went back
	for in, want := range map[string]string{
		"03:30": "2020-11-01T11:30:00Z", // PST
		"00:30": "2020-11-01T07:30:00Z", // PDT, the same day
		"05:00": "2020-10-31T12:00:00Z", // later than now: yesterday, PDT
		"now":   "2020-11-01T12:00:00Z",
	} {
		got, err := bot.ParseImpactTime(in, now, la)
		if err != nil || !got.Equal(mustUTC(want)) {
			t.Errorf("ParseImpactTime(%q) = %s, %v; want %s", in, got, err, want)
		}
	}
	// 01:30 happened twice that night: ask for RFC 3339 rather than guess.
	if _, err := bot.ParseImpactTime("01:30", now, la); err == nil || !strings.Contains(err.Error(), "twice") {
		t.Errorf("ambiguous 01:30: %v", err)
	}
	// 02:30 did not happen on 2020-03-08.
	if _, err := bot.ParseImpactTime("02:30", mustUTC("2020-03-08T20:00:00Z"), la); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("skipped 02:30: %v", err)
	}
}

func TestParseImpactTimeRejects(t *testing.T) {
	now := mustUTC("2020-10-08T05:00:00Z")
	for _, in := range []string{"25:99", "yesterday", "2030-01-01T00:00:00Z", "5pm"} {
		if _, err := bot.ParseImpactTime(in, now, time.UTC); bot.ErrorCode(err) != bot.EINVALID {
			t.Errorf("ParseImpactTime(%q): %v, want EINVALID", in, err)
		}
	}
	got, err := bot.ParseImpactTime("2020-10-08T02:06:00+02:00", now, time.UTC)
	if err != nil || !got.Equal(mustUTC("2020-10-08T00:06:00Z")) || got.Location() != time.UTC {
		t.Errorf("offset time = %s, %v", got, err)
	}
}

func TestCutAtLine(t *testing.T) {
	if s, cut := bot.CutAtLine("ab\ncd\nef", 6); s != "ab\ncd" || !cut {
		t.Errorf("CutAtLine = %q, %v", s, cut)
	}
	if s, cut := bot.CutAtLine("abcdef", 4); s != "abcd" || !cut {
		t.Errorf("no newline: %q, %v", s, cut)
	}
	if s, cut := bot.CutAtLine("short", 10); s != "short" || cut {
		t.Errorf("short: %q, %v", s, cut)
	}
}
