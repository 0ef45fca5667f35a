package slackchat

import (
	"context"
	"fmt"

	"github.com/slack-go/slack"
)

// IsChannelMember asks Slack (conversations.members, every page) whether
// user is in channel. Callers cache the answer briefly; an error is an
// error, never a "no" or a "yes".
func (c *Client) IsChannelMember(ctx context.Context, channel, user string) (bool, error) {
	cursor := ""
	for {
		var members []string
		var next string
		err := c.callAs(ctx, "conversations.members", "conversations.members", tier4, func() error {
			var err error
			members, next, err = c.api.GetUsersInConversationContext(ctx, &slack.GetUsersInConversationParameters{
				ChannelID: channel, Cursor: cursor, Limit: 1000})
			return err
		})
		if err != nil {
			return false, fmt.Errorf("is %s in %s: %w", user, channel, err)
		}
		for _, m := range members {
			if m == user {
				return true, nil
			}
		}
		if next == "" {
			return false, nil
		}
		cursor = next
	}
}
