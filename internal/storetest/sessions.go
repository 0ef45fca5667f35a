package storetest

import (
	"sync"
	"testing"
	"time"

	"github.com/sitrep-io/sitrep/bot"
)

// SessionStore is a store that also keeps the web view's sign-ins.
type SessionStore interface {
	Store
	bot.SessionStore
}

// RunSessions runs the SessionStore contract: a login link signs in once,
// across handles and concurrent uses, and not after it expires; a session
// is read until it expires or is deleted. fresh makes a new database and
// returns how to open handles on it.
func RunSessions(t *testing.T, fresh func(t *testing.T) func(t *testing.T) SessionStore) {
	t.Run("LoginLinkOnce", func(t *testing.T) {
		open := fresh(t)
		db, other := open(t), open(t)
		ctx := t.Context()
		link := bot.LoginLink{Hash: "h1", UserID: "U1", Name: "ana", CreatedAt: t0, ExpiresAt: t0.Add(10 * time.Minute)}
		if err := db.CreateLoginLink(ctx, link); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		wins := make(chan bot.LoginLink, 8)
		for i := range 8 {
			h := db
			if i%2 == 1 {
				h = other
			}
			wg.Go(func() {
				if l, err := h.UseLoginLink(ctx, "h1", t0.Add(time.Minute)); err == nil {
					wins <- l
				} else if bot.ErrorCode(err) != bot.ENOTFOUND {
					t.Errorf("UseLoginLink: %v", err)
				}
			})
		}
		wg.Wait()
		close(wins)
		var got []bot.LoginLink
		for l := range wins {
			got = append(got, l)
		}
		if len(got) != 1 || got[0].UserID != "U1" || got[0].Name != "ana" || !got[0].ExpiresAt.Equal(link.ExpiresAt) {
			t.Fatalf("8 concurrent uses signed in %d times (%+v), want once as U1", len(got), got)
		}
		if _, err := db.UseLoginLink(ctx, "nope", t0); bot.ErrorCode(err) != bot.ENOTFOUND {
			t.Errorf("unknown link: %v, want ENOTFOUND", err)
		}
	})
	t.Run("LoginLinkExpires", func(t *testing.T) {
		db := fresh(t)(t)
		ctx := t.Context()
		if err := db.CreateLoginLink(ctx, bot.LoginLink{Hash: "h2", UserID: "U1", CreatedAt: t0, ExpiresAt: t0.Add(time.Minute)}); err != nil {
			t.Fatal(err)
		}
		if _, err := db.UseLoginLink(ctx, "h2", t0.Add(time.Minute)); bot.ErrorCode(err) != bot.ENOTFOUND {
			t.Errorf("expired link: %v, want ENOTFOUND", err)
		}
	})
	t.Run("Session", func(t *testing.T) {
		open := fresh(t)
		db, other := open(t), open(t)
		ctx := t.Context()
		s := bot.WebSession{Hash: "s1", UserID: "U1", Name: "ana", CSRF: "c1", Via: "link", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
		if err := db.CreateWebSession(ctx, s); err != nil {
			t.Fatal(err)
		}
		got, err := other.WebSession(ctx, "s1", t0.Add(time.Minute))
		if err != nil || got.UserID != "U1" || got.CSRF != "c1" || got.Via != "link" || !got.ExpiresAt.Equal(s.ExpiresAt) {
			t.Fatalf("WebSession = %+v, %v", got, err)
		}
		if _, err := db.WebSession(ctx, "s1", t0.Add(time.Hour)); bot.ErrorCode(err) != bot.ENOTFOUND {
			t.Errorf("expired session: %v, want ENOTFOUND", err)
		}
		if err := db.DeleteWebSession(ctx, "s1"); err != nil {
			t.Fatal(err)
		}
		if _, err := other.WebSession(ctx, "s1", t0); bot.ErrorCode(err) != bot.ENOTFOUND {
			t.Errorf("deleted session: %v, want ENOTFOUND", err)
		}
	})
}
