package slackchat_test

import (
	"context"
	"testing"
	"time"

	"github.com/sitrep-io/sitrep/bot"
	"github.com/sitrep-io/sitrep/internal/slackfake"
	"github.com/sitrep-io/sitrep/slackchat"
)

// TestErrorMapping drives the real slack-go client into each failure the
// fake can produce and checks what the adapter makes of it.
func TestErrorMapping(t *testing.T) {
	for _, tc := range []struct {
		name       string
		method     string
		fault      slackfake.Fault
		temporary  bool
		retryAfter time.Duration
		code       string // for permanent errors
	}{
		{"RateLimitedWithRetryAfter", "chat.postMessage", slackfake.RateLimited(7), true, 7 * time.Second, ""},
		{"Bare429", "chat.postMessage", slackfake.ServerError(429), true, 0, ""},
		{"ServerError500", "chat.postMessage", slackfake.ServerError(500), true, 0, ""},
		{"ServerError503", "chat.update", slackfake.ServerError(503), true, 0, ""},
		{"SlackInternalError", "chat.postMessage", slackfake.SlackError("internal_error"), true, 0, ""},
		{"NameTaken", "conversations.create", slackfake.SlackError("name_taken"), false, 0, bot.ECONFLICT},
		{"AlreadyPinned", "pins.add", slackfake.SlackError("already_pinned"), false, 0, bot.ECONFLICT},
		{"ChannelNotFound", "chat.postMessage", slackfake.SlackError("channel_not_found"), false, 0, bot.ENOTFOUND},
		{"InvalidAuth", "chat.postMessage", slackfake.SlackError("invalid_auth"), false, 0, bot.EUNAUTHORIZED},
		{"MissingScope", "conversations.create", slackfake.SlackError("missing_scope"), false, 0, bot.EFORBIDDEN},
		{"Unknown", "chat.postMessage", slackfake.SlackError("something_new"), false, 0, bot.EINTERNAL},
		{"ClientError400", "chat.postMessage", slackfake.ServerError(400), false, 0, bot.EINTERNAL},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := slackfake.New(t)
			c := newClient(t, srv, newClock())
			ch := srv.AddChannel(slackfake.Channel{Name: "inc-1-x"})
			ref, err := c.Post(t.Context(), ch, bot.Message{Text: "card"})
			if err != nil {
				t.Fatal(err)
			}
			srv.FailNext(tc.method, tc.fault)
			err = callMethod(t.Context(), c, tc.method, ch, ref)
			if err == nil {
				t.Fatal("no error")
			}
			temp, after := bot.IsTemporary(err)
			if temp != tc.temporary || after != tc.retryAfter {
				t.Fatalf("%v: temporary=%v retryAfter=%s, want %v %s", err, temp, after, tc.temporary, tc.retryAfter)
			}
			if !tc.temporary {
				wantCode(t, err, tc.code)
			}
		})
	}
}

// callMethod makes the adapter call that uses a Slack method.
func callMethod(ctx context.Context, c *slackchat.Client, method, ch string, ref bot.MessageRef) error {
	switch method {
	case "chat.update":
		return c.Update(ctx, ref, bot.Message{Text: "x"})
	case "conversations.create":
		_, err := c.CreateChannel(ctx, bot.ChannelSpec{Name: "inc-2-y"})
		return err
	case "pins.add":
		return c.Pin(ctx, ref)
	}
	_, err := c.Post(ctx, ch, bot.Message{Text: "x"})
	return err
}

func TestErrorMappingTransport(t *testing.T) {
	t.Run("Timeout", func(t *testing.T) {
		srv := slackfake.New(t)
		c := newClient(t, srv, newClock())
		ch := srv.AddChannel(slackfake.Channel{Name: "inc-1-x"})
		srv.FailNext("chat.postMessage", slackfake.Slow(time.Minute))
		ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
		defer cancel()
		_, err := c.Post(ctx, ch, bot.Message{Text: "x"})
		if temp, _ := bot.IsTemporary(err); !temp {
			t.Fatalf("a timed-out call: %v, want temporary", err)
		}
		if !srv.WaitUntil(5*time.Second, func() bool { return len(srv.Messages(ch)) == 0 && srv.InFlight("chat.postMessage") == 0 }) {
			t.Error("the abandoned call should change nothing")
		}
	})
	t.Run("ConnectionRefused", func(t *testing.T) {
		srv := slackfake.New(t)
		c := newClient(t, srv, newClock())
		srv.Close()
		_, err := c.Post(t.Context(), "C1", bot.Message{Text: "x"})
		if temp, _ := bot.IsTemporary(err); !temp {
			t.Fatalf("Slack unreachable: %v, want temporary", err)
		}
	})
}

// TestRateLimitHoldsMethodBack: after a 429 with Retry-After, the next call
// of the same kind waits it out instead of drawing another 429.
func TestRateLimitHoldsMethodBack(t *testing.T) {
	srv := slackfake.New(t)
	clock := newClock()
	c := newClient(t, srv, clock)
	ch := srv.AddChannel(slackfake.Channel{Name: "inc-1-x"})
	srv.FailNext("chat.postMessage", slackfake.RateLimited(20))
	if _, err := c.Post(t.Context(), ch, bot.Message{Text: "1"}); err == nil {
		t.Fatal("want the 429")
	}
	before := clock.Now()
	if _, err := c.Post(t.Context(), ch, bot.Message{Text: "2"}); err != nil {
		t.Fatal(err)
	}
	if waited := clock.Now().Sub(before); waited < 20*time.Second {
		t.Errorf("waited %s after a 429 with Retry-After 20, want at least 20s", waited)
	}
	if n := len(srv.CallsTo("chat.postMessage")); n != 2 {
		t.Errorf("%d postMessage calls, want 2", n)
	}
}
