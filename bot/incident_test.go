package bot_test

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sitrep-io/sitrep/bot"
)

func TestParseSeverity(t *testing.T) {
	tests := []struct {
		in   string
		want bot.Severity
	}{
		{"SEV1", bot.SEV1}, {"sev2", bot.SEV2}, {"Sev3", bot.SEV3}, {"4", bot.SEV4},
		{"P2", bot.SEV2}, {"p1", bot.SEV1}, {"  sev4 ", bot.SEV4},
	}
	for _, tt := range tests {
		t.Run("OK"+tt.in, func(t *testing.T) {
			got, err := bot.ParseSeverity(tt.in)
			if err != nil {
				t.Fatalf("ParseSeverity(%q): %v", tt.in, err)
			}
			if got != tt.want {
				t.Errorf("ParseSeverity(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
	for _, in := range []string{"", "0", "5", "sev0", "sev5", "-1", "high", "SEV", "P", "sev 2", "2.0"} {
		t.Run("ErrInvalid"+in, func(t *testing.T) {
			got, err := bot.ParseSeverity(in)
			if got, want := bot.ErrorCode(err), bot.EINVALID; got != want {
				t.Fatalf("ParseSeverity(%q) error code = %q (%v), want %q", in, got, err, want)
			}
			if got != 0 {
				t.Errorf("ParseSeverity(%q) = %v on error, want 0", in, got)
			}
			var e *bot.Error
			if !errors.As(err, &e) || e.Field != "severity" {
				t.Errorf("error field = %+v, want severity", e)
			}
		})
	}
}

func TestSeverity(t *testing.T) {
	for s, want := range map[bot.Severity]bool{0: false, bot.SEV1: true, bot.SEV4: true, 5: false, -1: false} {
		if got := s.Valid(); got != want {
			t.Errorf("Severity(%d).Valid() = %v, want %v", int(s), got, want)
		}
	}
	if got, want := bot.SEV2.String(), "SEV2"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

func TestParseStatus(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want bot.Status
	}{
		{"triggered", bot.StatusTriggered}, {"Investigating", bot.StatusInvestigating},
		{"IDENTIFIED", bot.StatusIdentified}, {" monitoring ", bot.StatusMonitoring}, {"resolved", bot.StatusResolved},
	} {
		t.Run("OK"+tt.in, func(t *testing.T) {
			got, err := bot.ParseStatus(tt.in)
			if err != nil || got != tt.want {
				t.Errorf("ParseStatus(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
	for _, in := range []string{"", "done", "resolve", "open"} {
		t.Run("ErrInvalid"+in, func(t *testing.T) {
			got, err := bot.ParseStatus(in)
			if bot.ErrorCode(err) != bot.EINVALID || got != "" {
				t.Errorf("ParseStatus(%q) = %q, %v; want EINVALID", in, got, err)
			}
		})
	}
}

func TestStatusBefore(t *testing.T) {
	for i, a := range bot.Statuses {
		for j, b := range bot.Statuses {
			if got, want := a.Before(b), i < j; got != want {
				t.Errorf("%s.Before(%s) = %v, want %v", a, b, got, want)
			}
		}
	}
}

func TestIncidentKey(t *testing.T) {
	if got, want := bot.IncidentKey(42), "INC-42"; got != want {
		t.Errorf("IncidentKey(42) = %q, want %q", got, want)
	}
	if got, want := (bot.Incident{ID: 7}).Key(), "INC-7"; got != want {
		t.Errorf("Key() = %q, want %q", got, want)
	}
	for _, tt := range []struct {
		in   string
		want int64
	}{{"INC-12", 12}, {"inc-12", 12}, {"12", 12}, {" INC-3 ", 3}, {"Inc-99999999999", 99999999999}} {
		t.Run("OK"+tt.in, func(t *testing.T) {
			got, err := bot.ParseIncidentKey(tt.in)
			if err != nil || got != tt.want {
				t.Errorf("ParseIncidentKey(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
			}
		})
	}
	for _, in := range []string{"", "INC-", "INC-0", "0", "-3", "INC--3", "INC-x", "INC12", "#12", "12a"} {
		t.Run("ErrInvalid"+in, func(t *testing.T) {
			got, err := bot.ParseIncidentKey(in)
			if bot.ErrorCode(err) != bot.EINVALID || got != 0 {
				t.Errorf("ParseIncidentKey(%q) = %d, %v; want 0, EINVALID", in, got, err)
			}
		})
	}
}

func TestSlug(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"Checkout is DOWN!!", "checkout-is-down"},
		{"  api 5xx  -- eu-west-1 ", "api-5xx-eu-west-1"},
		{"Café ☕ down", "caf-down"},
		{"!!!", ""},
		{"", ""},
		{"already-a-slug", "already-a-slug"},
	} {
		if got := bot.Slug(tt.in); got != tt.want {
			t.Errorf("Slug(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

var channelNameRE = regexp.MustCompile(`^inc-[0-9]+(-[a-z0-9]+)*$`)

func TestChannelName(t *testing.T) {
	for _, tt := range []struct {
		name   string
		id     int64
		title  string
		suffix string
		want   string
	}{
		{"OK", 1, "Checkout is DOWN!!", "", "inc-1-checkout-is-down"},
		{"OKSuffix", 1, "Checkout is DOWN!!", "2", "inc-1-checkout-is-down-2"},
		{"OKEmptyTitle", 7, "???", "", "inc-7"},
		{"OKEmptyTitleSuffix", 7, "", "3", "inc-7-3"},
		{"OKTruncated", 12, strings.Repeat("a", 100), "", "inc-12-" + strings.Repeat("a", 73)},
		{"OKTruncatedSuffix", 12, strings.Repeat("a", 100), "20", "inc-12-" + strings.Repeat("a", 70) + "-20"},
		// The cut lands right after a hyphen, which is dropped.
		{"OKTruncatedAtHyphen", 1, strings.Repeat("a", 73) + " bbbb", "", "inc-1-" + strings.Repeat("a", 73)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := bot.ChannelName(tt.id, tt.title, tt.suffix)
			if got != tt.want {
				t.Errorf("ChannelName(%d, %q, %q) = %q, want %q", tt.id, tt.title, tt.suffix, got, tt.want)
			}
		})
	}

	t.Run("AlwaysValid", func(t *testing.T) {
		words := []string{"Database", "is", "DOWN", "in", "eu-west-1", "--", "!!", "p99", "latency"}
		for n := range 60 {
			var title strings.Builder
			for i := range n {
				title.WriteString(words[(i*7+n)%len(words)])
				title.WriteString(strings.Repeat(" ", 1+i%2))
			}
			for _, id := range []int64{1, 42, 123456789} {
				for _, suffix := range []string{"", "2", "20"} {
					got := bot.ChannelName(id, title.String(), suffix)
					if len(got) > 80 || !channelNameRE.MatchString(got) || got != strings.ToLower(got) {
						t.Fatalf("ChannelName(%d, %q, %q) = %q (%d chars): want at most 80 lowercase chars, single hyphens",
							id, title.String(), suffix, got, len(got))
					}
					if !strings.HasPrefix(got, fmt.Sprintf("inc-%d", id)) {
						t.Fatalf("ChannelName(%d, …) = %q, want prefix inc-%d", id, got, id)
					}
					if suffix != "" && !strings.HasSuffix(got, "-"+suffix) {
						t.Fatalf("ChannelName(%d, %q, %q) = %q, want suffix -%s", id, title.String(), suffix, got, suffix)
					}
				}
			}
		}
	})
}

func TestNormalizeUser(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"<@U123>", "U123"},
		{"<@U123|alice>", "U123"},
		{"@alice", "alice"},
		{"alice", "alice"},
		{"  <@U9|bob>  ", "U9"},
		{"", ""},
		{"<@U123", "<@U123"}, // not a mention
	} {
		if got := bot.NormalizeUser(tt.in); got != tt.want {
			t.Errorf("NormalizeUser(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestErrors(t *testing.T) {
	notFound := bot.Errorf(bot.ENOTFOUND, "INC-%d does not exist", 9)
	field := bot.FieldErrorf("title", "a title is required")
	for _, tt := range []struct {
		name     string
		err      error
		wantCode string
		wantMsg  string
	}{
		{"Nil", nil, "", "internal error; the details are in the sitrep log"},
		{"Domain", notFound, bot.ENOTFOUND, "INC-9 does not exist"},
		{"Wrapped", fmt.Errorf("load: %w", notFound), bot.ENOTFOUND, "INC-9 does not exist"},
		{"Field", field, bot.EINVALID, "title: a title is required"},
		{"Other", errors.New("disk on fire"), bot.EINTERNAL, "internal error; the details are in the sitrep log"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := bot.ErrorCode(tt.err); got != tt.wantCode {
				t.Errorf("ErrorCode = %q, want %q", got, tt.wantCode)
			}
			if got := bot.ErrorMessage(tt.err); got != tt.wantMsg {
				t.Errorf("ErrorMessage = %q, want %q", got, tt.wantMsg)
			}
		})
	}
}

func TestIsTemporary(t *testing.T) {
	cause := errors.New("ratelimited")
	for _, tt := range []struct {
		name      string
		err       error
		wantTemp  bool
		wantAfter time.Duration
	}{
		{"RetryAfter", bot.Temporary(cause, 30*time.Second), true, 30 * time.Second},
		{"Wrapped", fmt.Errorf("post: %w", bot.Temporary(cause, 0)), true, 0},
		{"Permanent", cause, false, 0},
		{"Nil", nil, false, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			temp, after := bot.IsTemporary(tt.err)
			if temp != tt.wantTemp || after != tt.wantAfter {
				t.Errorf("IsTemporary = %v, %v; want %v, %v", temp, after, tt.wantTemp, tt.wantAfter)
			}
		})
	}
	if err := bot.Temporary(cause, 0); !errors.Is(err, cause) {
		t.Error("Temporary does not unwrap to its cause")
	}
}

func TestNewDelivery(t *testing.T) {
	d, err := bot.NewDelivery("incident:1", bot.OpInvite, 1, map[string][]string{"users": {"U1"}})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(d.Payload), `{"users":["U1"]}`; got != want {
		t.Errorf("payload = %s, want %s", got, want)
	}
	if d.Key != "incident:1" || d.Op != bot.OpInvite || d.IncidentID != 1 {
		t.Errorf("delivery = %+v", d)
	}
	if _, err := bot.NewDelivery("k", "op", 0, func() {}); err == nil {
		t.Error("NewDelivery with an unencodable payload succeeded")
	}
}

func TestPlainText(t *testing.T) {
	cases := map[string]string{
		"<@U1> and <@U2|ana>":          "@U1 and @ana",
		"see <#C1> or <#C2|incidents>": "see #C1 or #incidents",
		"by <!subteam^S1>":             "by @S1",
		"by <!subteam^S1|@sre-oncall>": "by @sre-oncall",
		"plain <text> & a < b":         "plain <text> & a < b",
	}
	for in, want := range cases {
		if got := bot.PlainText(in); got != want {
			t.Errorf("PlainText(%q) = %q, want %q", in, got, want)
		}
	}
}
