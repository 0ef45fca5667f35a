package slackchat

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/sitrep-io/sitrep/bot"
	"github.com/slack-go/slack"
)

// CreateChannel creates a public or private channel (conversations.create).
// A taken name returns an ECONFLICT *bot.Error, so the caller can try a
// suffix; Slack's own trouble returns a *bot.TemporaryError.
func (c *Client) CreateChannel(ctx context.Context, spec bot.ChannelSpec) (bot.ChannelRef, error) {
	var ch *slack.Channel
	err := c.call(ctx, "conversations.create", func() (err error) {
		ch, err = c.api.CreateConversationContext(ctx, slack.CreateConversationParams{ChannelName: spec.Name, IsPrivate: spec.Private})
		return err
	})
	if err != nil {
		return bot.ChannelRef{}, err
	}
	return bot.ChannelRef{ID: ch.ID, Name: ch.Name}, nil
}

// FindOwnChannel looks for a channel named name that the bot itself
// created and that is not archived (conversations.list over public and
// private channels, the bot's user id from auth.test). The outbox asks
// when creating an incident's channel finds the name taken: an earlier
// attempt may have created it while its answer (a timeout) or its record
// (a full disk) was lost, and that channel is adopted instead of making
// another one under a suffix. It lists every channel, page by page, so it
// is for that rare path only.
func (c *Client) FindOwnChannel(ctx context.Context, name string) (bot.ChannelRef, bool, error) {
	me, err := c.botUserID(ctx)
	if err != nil {
		return bot.ChannelRef{}, false, err
	}
	cursor := ""
	for {
		var page []slack.Channel
		err := c.call(ctx, "conversations.list", func() (err error) {
			page, cursor, err = c.api.GetConversationsContext(ctx, &slack.GetConversationsParameters{
				Cursor: cursor, ExcludeArchived: true, Limit: 1000, Types: []string{"public_channel", "private_channel"}})
			return err
		})
		if err != nil {
			return bot.ChannelRef{}, false, err
		}
		for _, ch := range page {
			if ch.Name == name && ch.Creator == me && !ch.IsArchived {
				return bot.ChannelRef{ID: ch.ID, Name: ch.Name}, true, nil
			}
		}
		if cursor == "" {
			return bot.ChannelRef{}, false, nil
		}
	}
}

// botUserID is the bot's own user id, asked of Slack (auth.test) once.
func (c *Client) botUserID(ctx context.Context) (string, error) {
	c.mu.Lock()
	id := c.botID
	c.mu.Unlock()
	if id != "" {
		return id, nil
	}
	var resp *slack.AuthTestResponse
	err := c.call(ctx, "auth.test", func() (err error) {
		resp, err = c.api.AuthTestContext(ctx)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("ask Slack for the bot's user id: %w", err)
	}
	c.mu.Lock()
	c.botID = resp.UserID
	c.mu.Unlock()
	return resp.UserID, nil
}

// SetTopic sets a channel's topic (conversations.setTopic).
func (c *Client) SetTopic(ctx context.Context, channelID, topic string) error {
	return c.call(ctx, "conversations.setTopic", func() error {
		_, err := c.api.SetTopicOfConversationContext(ctx, channelID, truncate(mrkdwnText(topic), 250))
		return err
	})
}

// Invite adds users to a channel (conversations.invite). Users already in
// the channel, and the bot itself, count as invited. When some users cannot
// be invited (user_not_found), the others are still invited and the error
// (a permanent ENOTFOUND *bot.Error) names the ones left out.
func (c *Client) Invite(ctx context.Context, channelID string, userIDs []string) error {
	users := slices.Compact(slices.Sorted(slices.Values(userIDs)))
	users = slices.DeleteFunc(users, func(u string) bool { return u == "" })
	if len(users) == 0 {
		return nil
	}
	defer c.forgetMembers(channelID) // whoever is invited is asked about afresh
	raw, err := c.invite(ctx, channelID, users)
	var se slack.SlackErrorResponse
	switch {
	case raw == nil:
		return nil
	case !errors.As(raw, &se):
		return err // temporary trouble: the whole invite is retried
	case len(users) == 1 && benignInvite(se.Err):
		return nil
	case len(se.Errors) == 0 && len(users) == 1:
		return err
	case len(se.Errors) == 0:
		return c.inviteEach(ctx, channelID, users)
	}
	// Slack invites nobody when one user fails: invite the rest again.
	rest, refused := splitInviteErrors(users, se.Errors)
	if len(rest) > 0 {
		if raw, err := c.invite(ctx, channelID, rest); raw != nil && !benignInvite(slackCode(raw)) {
			return err
		}
	}
	return refusedError(refused)
}

// inviteEach invites users one at a time, for when Slack's answer does not
// say which user it refused.
func (c *Client) inviteEach(ctx context.Context, channelID string, users []string) error {
	var refused []string
	for _, u := range users {
		raw, err := c.invite(ctx, channelID, []string{u})
		switch {
		case raw == nil || benignInvite(slackCode(raw)):
		case bot.ErrorCode(err) == bot.ENOTFOUND:
			refused = append(refused, fmt.Sprintf("%s (%s)", u, slackCode(raw)))
		default:
			return err
		}
	}
	return refusedError(refused)
}

// invite makes one conversations.invite call. It returns slack-go's error
// (whose per-user errors the caller needs) and its mapped form.
func (c *Client) invite(ctx context.Context, channelID string, users []string) (raw, mapped error) {
	mapped = c.call(ctx, "conversations.invite", func() error {
		_, raw = c.api.InviteUsersToConversationContext(ctx, channelID, users...)
		return raw
	})
	if mapped != nil && raw == nil {
		raw = mapped // the pacer gave up before calling
	}
	return raw, mapped
}

func refusedError(refused []string) error {
	if len(refused) == 0 {
		return nil
	}
	return bot.Errorf(bot.ENOTFOUND, "slack conversations.invite: could not invite %s; check the user ids", joinUsers(refused))
}

// benignInvite reports whether an invite error means the user is there.
func benignInvite(code string) bool {
	return code == "already_in_channel" || code == "cant_invite_self"
}

// splitInviteErrors returns the users Slack had nothing against and the
// users it refused for good.
func splitInviteErrors(users []string, errs []slack.SlackResponseErrors) (rest, refused []string) {
	failed := map[string]string{}
	for _, e := range errs {
		if e.ConversationsInviteResponseError != nil {
			failed[e.ConversationsInviteResponseError.User] = e.ConversationsInviteResponseError.Error
		}
	}
	for _, u := range users {
		code, bad := failed[u]
		switch {
		case !bad:
			rest = append(rest, u)
		case !benignInvite(code):
			refused = append(refused, fmt.Sprintf("%s (%s)", u, code))
		}
	}
	return rest, refused
}

// Pin pins a message (pins.add). An already pinned message returns an
// ECONFLICT *bot.Error.
func (c *Client) Pin(ctx context.Context, ref bot.MessageRef) error {
	return c.call(ctx, "pins.add", func() error {
		return c.api.AddPinContext(ctx, ref.ChannelID, slack.NewRefToMessage(ref.ChannelID, ref.TS))
	})
}

// Archive archives a channel (conversations.archive). An archived channel
// counts as done.
func (c *Client) Archive(ctx context.Context, channelID string) error {
	var raw error
	err := c.call(ctx, "conversations.archive", func() error {
		raw = c.api.ArchiveConversationContext(ctx, channelID)
		return raw
	})
	if slackCode(raw) == "already_archived" {
		return nil
	}
	return err
}
