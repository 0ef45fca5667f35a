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
		return nil, err
	}
	c.mu.Lock()
	c.groups[groupID] = cached[[]string]{val: slices.Clone(members), expires: c.opt.Now().Add(c.opt.CacheTTL)}
	c.mu.Unlock()
	return members, nil
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
