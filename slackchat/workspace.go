package slackchat

import (
	"context"
	"fmt"

	"github.com/slack-go/slack"
)

// Workspace asks Slack (auth.test) which workspace the bot token belongs
// to: its team id and, for an Enterprise Grid installation, the
// enterprise id.
func (c *Client) Workspace(ctx context.Context) (teamID, enterpriseID string, err error) {
	var resp *slack.AuthTestResponse
	err = c.call(ctx, "auth.test", func() error {
		var err error
		resp, err = c.api.AuthTestContext(ctx)
		return err
	})
	if err != nil {
		return "", "", fmt.Errorf("ask Slack which workspace the bot token belongs to: %w", err)
	}
	return resp.TeamID, resp.EnterpriseID, nil
}
