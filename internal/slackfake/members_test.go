package slackfake_test

import (
	"fmt"
	"testing"

	"github.com/slack-go/slack"

	"github.com/sitrep-io/sitrep/internal/slackfake"
)

// conversations.members pages as Slack does: limit members a page (100 by
// default), an opaque next_cursor while more remain, invalid_cursor for a
// cursor it did not hand out, and a private channel the bot is not in is
// channel_not_found.
func TestConversationsMembersPages(t *testing.T) {
	srv, api := newClient(t)
	ctx := t.Context()
	members := []string{slackfake.BotUserID}
	for i := range 250 {
		members = append(members, fmt.Sprintf("U%03d", i))
	}
	ch := srv.AddChannel(slackfake.Channel{Name: "big", IsPrivate: true, Members: members})

	var got []string
	pages, cursor := 0, ""
	for {
		page, next, err := api.GetUsersInConversationContext(ctx, &slack.GetUsersInConversationParameters{ChannelID: ch, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		if len(page) > 100 {
			t.Fatalf("a page of %d members, want at most the default limit 100", len(page))
		}
		got, pages = append(got, page...), pages+1
		if next == "" {
			break
		}
		cursor = next
	}
	if pages != 3 || len(got) != len(members) || got[len(got)-1] != "U249" {
		t.Errorf("%d pages, %d members (last %s); want 3 pages of all %d", pages, len(got), got[len(got)-1], len(members))
	}
	if _, _, err := api.GetUsersInConversationContext(ctx, &slack.GetUsersInConversationParameters{ChannelID: ch, Cursor: "bm90LWEtY3Vyc29y"}); slackCode(err) != "invalid_cursor" {
		t.Errorf("a made-up cursor: %v, want invalid_cursor", err)
	}
	hidden := srv.AddChannel(slackfake.Channel{Name: "hidden", IsPrivate: true, Members: []string{"U001"}})
	if _, _, err := api.GetUsersInConversationContext(ctx, &slack.GetUsersInConversationParameters{ChannelID: hidden}); slackCode(err) != "channel_not_found" {
		t.Errorf("a private channel without the bot: %v, want channel_not_found", err)
	}
}
