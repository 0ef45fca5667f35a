package slackchat

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/sitrep-io/sitrep/bot"
	"github.com/slack-go/slack"
)

// cached is a directory entry and when it goes stale.
type cached[T any] struct {
	val     T
	expires time.Time
}

// lookup returns m[key] when it is still fresh. Caller holds c.mu.
func lookup[T any](c *Client, m map[string]cached[T], key string) (T, bool) {
	e, ok := m[key]
	if !ok || !c.opt.Now().Before(e.expires) {
		var zero T
		return zero, false
	}
	return e.val, true
}

// User returns a user by id (users.info), from the cache when looked up in
// the last Options.CacheTTL. An unknown user returns ENOTFOUND.
func (c *Client) User(ctx context.Context, id string) (bot.ChatUser, error) {
	c.mu.Lock()
	u, ok := lookup(c, c.users, id)
	c.mu.Unlock()
	if ok {
		return u, nil
	}
	var su *slack.User
	err := c.call(ctx, "users.info", func() (err error) {
		su, err = c.api.GetUserInfoContext(ctx, id)
		return err
	})
	if err != nil {
		return bot.ChatUser{}, err
	}
	return c.remember(su), nil
}

// UserByEmail returns the user with an email address
// (users.lookupByEmail), cached like User. No such user returns ENOTFOUND.
func (c *Client) UserByEmail(ctx context.Context, email string) (bot.ChatUser, error) {
	key := strings.ToLower(strings.TrimSpace(email))
	c.mu.Lock()
	id, ok := lookup(c, c.emails, key)
	var u bot.ChatUser
	if ok {
		u, ok = lookup(c, c.users, id)
	}
	c.mu.Unlock()
	if ok {
		return u, nil
	}
	var su *slack.User
	err := c.call(ctx, "users.lookupByEmail", func() (err error) {
		su, err = c.api.GetUserByEmailContext(ctx, key)
		return err
	})
	if err != nil {
		return bot.ChatUser{}, err
	}
	u = c.remember(su)
	c.mu.Lock()
	c.emails[key] = cached[string]{val: u.ID, expires: c.opt.Now().Add(c.opt.CacheTTL)}
	c.mu.Unlock()
	return u, nil
}

// GroupMembers returns the user ids in a user group
// (usergroups.users.list), cached for Options.CacheTTL. An unknown group
// returns ENOTFOUND.
func (c *Client) GroupMembers(ctx context.Context, groupID string) ([]string, error) {
	c.mu.Lock()
	members, ok := lookup(c, c.groups, groupID)
	c.mu.Unlock()
	if ok {
		return slices.Clone(members), nil
	}
	err := c.call(ctx, "usergroups.users.list", func() (err error) {
		members, err = c.api.GetUserGroupMembersContext(ctx, groupID)
		return err
	})
	if err != nil {
		if bot.ErrorCode(err) != bot.ENOTFOUND {
			c.opt.Logger.Warn("could not read a user group's members", "group", groupID, "err", err)
		}
		return nil, err
	}
	c.mu.Lock()
	c.groups[groupID] = cached[[]string]{val: slices.Clone(members), expires: c.opt.Now().Add(c.opt.CacheTTL)}
	c.mu.Unlock()
	return members, nil
}

// membersPage is how many members one conversations.members call asks
// for (Slack's recommended page size is at most 200; it allows 1,000).
const membersPage = 200

// IsChannelMember reports whether userID is in channelID
// (conversations.members, every page), from a member list fetched in the
// last Options.MembersTTL. A failed lookup is an error, never a guess: the
// caller refuses.
func (c *Client) IsChannelMember(ctx context.Context, channelID, userID string) (bool, error) {
	c.mu.Lock()
	members, ok := lookup(c, c.chans, channelID)
	c.mu.Unlock()
	if !ok {
		var err error
		if members, err = c.channelMembers(ctx, channelID); err != nil {
			c.opt.Logger.Warn("could not read a channel's members: access to its private incident is refused until Slack answers",
				"channel", channelID, "err", err)
			return false, err
		}
		c.mu.Lock()
		c.chans[channelID] = cached[[]string]{val: members, expires: c.opt.Now().Add(c.opt.MembersTTL)}
		c.mu.Unlock()
	}
	return slices.Contains(members, userID), nil
}

// forgetMembers drops a channel's cached member list.
func (c *Client) forgetMembers(channelID string) {
	c.mu.Lock()
	delete(c.chans, channelID)
	c.mu.Unlock()
}

// channelMembers reads a channel's whole member list, page by page.
func (c *Client) channelMembers(ctx context.Context, channelID string) ([]string, error) {
	var all []string
	cursor := ""
	for {
		var page []string
		var next string
		err := c.call(ctx, "conversations.members", func() (err error) {
			page, next, err = c.api.GetUsersInConversationContext(ctx, &slack.GetUsersInConversationParameters{
				ChannelID: channelID, Cursor: cursor, Limit: membersPage})
			return err
		})
		if err != nil {
			return nil, err
		}
		all = append(all, page...)
		if next == "" {
			return all, nil
		}
		cursor = next
	}
}

// remember caches a user by id and returns it in domain form.
func (c *Client) remember(su *slack.User) bot.ChatUser {
	u := bot.ChatUser{ID: su.ID, Name: su.Name, RealName: su.RealName, Email: su.Profile.Email}
	if u.RealName == "" {
		u.RealName = su.Profile.RealName
	}
	c.mu.Lock()
	c.users[u.ID] = cached[bot.ChatUser]{val: u, expires: c.opt.Now().Add(c.opt.CacheTTL)}
	c.mu.Unlock()
	return u
}
