package slackchat_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/sitrep-io/sitrep/internal/slackfake"
	"github.com/slack-go/slack"
)

// A private incident's channel with more members than one page holds: the
// adapter reads every page, keeps the answer for 30 s only, asks afresh
// after inviting someone, and reports Slack's failure instead of guessing.
func TestIsChannelMember(t *testing.T) {
	srv := slackfake.New(t)
	members := []string{slackfake.BotUserID}
	for i := range 450 { // three pages of 200
		members = append(members, fmt.Sprintf("U%04d", i))
	}
	ch := srv.AddChannel(slackfake.Channel{Name: "inc-1-secret", IsPrivate: true, Members: members})
	srv.AddUser(slackfake.User{ID: "ULATE", Name: "late"})
	clock := newClock()
	c := newClient(t, srv, clock)
	ctx := t.Context()

	ok, err := c.IsChannelMember(ctx, ch, "U0449") // on the last page
	if err != nil || !ok {
		t.Fatalf("member on the last page: %v, %v", ok, err)
	}
	if n := len(srv.CallsTo("conversations.members")); n != 3 {
		t.Errorf("%d conversations.members calls for 451 members, want 3 pages", n)
	}
	if ok, err := c.IsChannelMember(ctx, ch, "UOUTSIDER"); err != nil || ok {
		t.Fatalf("non-member: %v, %v", ok, err)
	}
	if n := len(srv.CallsTo("conversations.members")); n != 3 {
		t.Errorf("a second question within the TTL called Slack again (%d calls)", n)
	}

	// Someone added behind sitrep's back is seen once the answer is stale.
	srv.Reset()
	other := slack.New(slackfake.BotToken, slack.OptionAPIURL(srv.URL()), slack.OptionHTTPClient(srv.Client()))
	if _, err := other.InviteUsersToConversationContext(ctx, ch, "ULATE"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := c.IsChannelMember(ctx, ch, "ULATE"); ok {
		t.Fatal("a cached answer younger than the TTL should still say no")
	}
	clock.Advance(31 * time.Second)
	if ok, err := c.IsChannelMember(ctx, ch, "ULATE"); err != nil || !ok {
		t.Fatalf("after the TTL the new member must be seen: %v, %v", ok, err)
	}

	// sitrep's own invitation is seen at once.
	srv.AddUser(slackfake.User{ID: "UINVITED", Name: "invited"})
	if err := c.Invite(ctx, ch, []string{"UINVITED"}); err != nil {
		t.Fatal(err)
	}
	if ok, err := c.IsChannelMember(ctx, ch, "UINVITED"); err != nil || !ok {
		t.Fatalf("after sitrep invited them: %v, %v", ok, err)
	}

	// Slack failing: an error, never a cached or guessed answer.
	clock.Advance(31 * time.Second)
	srv.FailNext("conversations.members", slackfake.ServerError(500))
	if ok, err := c.IsChannelMember(ctx, ch, "U0001"); err == nil || ok {
		t.Fatalf("Slack failing: got %v, %v; want an error", ok, err)
	}
}
