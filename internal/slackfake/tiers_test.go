package slackfake_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/sitrep-io/sitrep/internal/slackfake"
	"github.com/sitrep-io/sitrep/internal/testclock"
	"github.com/slack-go/slack"
)

// TestTiersLimitConversationsCreate: beyond Tier 2's burst, a create is
// answered 429 with Retry-After and creates nothing; once the bucket has
// refilled (3 s at 20 a minute) the next one succeeds.
func TestTiersLimitConversationsCreate(t *testing.T) {
	clock := testclock.New(time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC))
	srv, api := newClient(t, slackfake.WithTiers(clock.Now, slackfake.SlackTiers))
	create := func(i int) error {
		_, err := api.CreateConversationContext(t.Context(), slack.CreateConversationParams{ChannelName: fmt.Sprintf("inc-%d", i)})
		return err
	}
	for i := range slackfake.Tier2.Burst {
		if err := create(i); err != nil {
			t.Fatalf("create %d within the burst: %v", i, err)
		}
	}
	err := create(99)
	var rl *slack.RateLimitedError
	if !errors.As(err, &rl) || rl.RetryAfter != 3*time.Second {
		t.Fatalf("create beyond the burst: %#v, want *slack.RateLimitedError{3s}", err)
	}
	if _, ok := srv.Channel("inc-99"); ok {
		t.Error("a 429'd create made a channel")
	}
	clock.Advance(3 * time.Second)
	if err := create(100); err != nil {
		t.Fatalf("create after the refill: %v", err)
	}
	if err := create(101); !errors.As(err, &rl) {
		t.Fatalf("second create after one refill: %v, want a 429", err)
	}
}
