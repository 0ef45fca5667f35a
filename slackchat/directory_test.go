package slackchat_test

import (
	"testing"
	"time"

	"github.com/sitrep-io/sitrep/bot"
	"github.com/sitrep-io/sitrep/internal/slackfake"
)

func TestDirectoryCache(t *testing.T) {
	srv := slackfake.New(t)
	srv.AddUser(slackfake.User{ID: "U1", Name: "alice", RealName: "Alice Liddell", Email: "alice@example.com"})
	srv.AddUserGroup("S1", "U1", "U2")
	clock := newClock()
	c := newClient(t, srv, clock)
	ctx := t.Context()

	t.Run("UserByID", func(t *testing.T) {
		for range 3 {
			u, err := c.User(ctx, "U1")
			if err != nil || u != (bot.ChatUser{ID: "U1", Name: "alice", RealName: "Alice Liddell", Email: "alice@example.com"}) {
				t.Fatalf("User = %+v, %v", u, err)
			}
		}
		if n := len(srv.CallsTo("users.info")); n != 1 {
			t.Errorf("%d users.info calls for three lookups, want 1", n)
		}
		clock.Advance(11 * time.Minute)
		if _, err := c.User(ctx, "U1"); err != nil {
			t.Fatal(err)
		}
		if n := len(srv.CallsTo("users.info")); n != 2 {
			t.Errorf("%d users.info calls after the TTL, want 2", n)
		}
	})
	t.Run("UserByEmail", func(t *testing.T) {
		for _, email := range []string{"alice@example.com", "Alice@Example.com"} {
			u, err := c.UserByEmail(ctx, email)
			if err != nil || u.ID != "U1" {
				t.Fatalf("UserByEmail(%s) = %+v, %v", email, u, err)
			}
		}
		if n := len(srv.CallsTo("users.lookupByEmail")); n != 1 {
			t.Errorf("%d lookupByEmail calls, want 1", n)
		}
		infos := len(srv.CallsTo("users.info"))
		if _, err := c.User(ctx, "U1"); err != nil || len(srv.CallsTo("users.info")) != infos {
			t.Errorf("a user found by email should be cached by id too (%v)", err)
		}
	})
	t.Run("GroupMembers", func(t *testing.T) {
		for range 2 {
			m, err := c.GroupMembers(ctx, "S1")
			if err != nil || len(m) != 2 {
				t.Fatalf("GroupMembers = %v, %v", m, err)
			}
			m[0] = "changed by the caller"
		}
		if n := len(srv.CallsTo("usergroups.users.list")); n != 1 {
			t.Errorf("%d usergroups.users.list calls, want 1", n)
		}
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		_, err := c.User(ctx, "U404")
		wantCode(t, err, bot.ENOTFOUND)
		_, err = c.UserByEmail(ctx, "nobody@example.com")
		wantCode(t, err, bot.ENOTFOUND)
		_, err = c.GroupMembers(ctx, "S404")
		wantCode(t, err, bot.ENOTFOUND)
	})
	if n := len(srv.CallsTo("users.list")) + len(srv.CallsTo("conversations.list")); n != 0 {
		t.Errorf("%d list calls, want none", n)
	}
}
