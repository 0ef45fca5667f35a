package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/sitrep-io/sitrep/bot"
)

var _ bot.SessionStore = (*DB)(nil)

// CreateLoginLink stores a one-time link, pruning expired links and
// sessions on the way (links are made by hand: rarely).
func (db *DB) CreateLoginLink(ctx context.Context, l bot.LoginLink) error {
	if err := db.pruneWebAuth(ctx, l.CreatedAt); err != nil {
		return err
	}
	if _, err := db.write(ctx, `INSERT INTO login_links (hash, user_id, name, created_at, expires_at) VALUES (?,?,?,?,?)`,
		l.Hash, l.UserID, l.Name, encTime(l.CreatedAt), encTime(l.ExpiresAt)); err != nil {
		return fmt.Errorf("store login link: %w", err)
	}
	return nil
}

func (db *DB) pruneWebAuth(ctx context.Context, now time.Time) error {
	if _, err := db.write(ctx, `DELETE FROM login_links WHERE expires_at < ?`, encTime(now.Add(-24*time.Hour))); err != nil {
		return fmt.Errorf("prune login links: %w", err)
	}
	if _, err := db.write(ctx, `DELETE FROM web_sessions WHERE expires_at < ?`, encTime(now)); err != nil {
		return fmt.Errorf("prune web sessions: %w", err)
	}
	return nil
}

// UseLoginLink spends a link. The conditional update is the claim: of two
// concurrent uses, one changes the row and the other finds it spent.
func (db *DB) UseLoginLink(ctx context.Context, hash string, now time.Time) (bot.LoginLink, error) {
	res, err := db.write(ctx, `UPDATE login_links SET used_at = ? WHERE hash = ? AND used_at = '' AND expires_at > ?`,
		encTime(now), hash, encTime(now))
	if err != nil {
		return bot.LoginLink{}, fmt.Errorf("use login link: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return bot.LoginLink{}, bot.Errorf(bot.ENOTFOUND, "this sign-in link is unknown, used or expired: make a new one with `sitrep web-login`")
	}
	var l bot.LoginLink
	var created, expires string
	err = db.reader.QueryRowContext(ctx, `SELECT hash, user_id, name, created_at, expires_at FROM login_links WHERE hash = ?`, hash).
		Scan(&l.Hash, &l.UserID, &l.Name, &created, &expires)
	if err != nil {
		return bot.LoginLink{}, fmt.Errorf("read login link: %w", err)
	}
	if l.CreatedAt, err = decTime(created); err != nil {
		return bot.LoginLink{}, err
	}
	l.ExpiresAt, err = decTime(expires)
	return l, err
}

func (db *DB) CreateWebSession(ctx context.Context, s bot.WebSession) error {
	if _, err := db.write(ctx, `INSERT INTO web_sessions (hash, user_id, name, csrf, via, created_at, expires_at) VALUES (?,?,?,?,?,?,?)`,
		s.Hash, s.UserID, s.Name, s.CSRF, s.Via, encTime(s.CreatedAt), encTime(s.ExpiresAt)); err != nil {
		return fmt.Errorf("store web session: %w", err)
	}
	return nil
}

func (db *DB) WebSession(ctx context.Context, hash string, now time.Time) (bot.WebSession, error) {
	var s bot.WebSession
	var created, expires string
	err := db.reader.QueryRowContext(ctx, `SELECT hash, user_id, name, csrf, via, created_at, expires_at FROM web_sessions
		WHERE hash = ? AND expires_at > ?`, hash, encTime(now)).
		Scan(&s.Hash, &s.UserID, &s.Name, &s.CSRF, &s.Via, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return bot.WebSession{}, bot.Errorf(bot.ENOTFOUND, "not signed in, or the session expired")
	}
	if err != nil {
		return bot.WebSession{}, fmt.Errorf("read web session: %w", err)
	}
	if s.CreatedAt, err = decTime(created); err != nil {
		return bot.WebSession{}, err
	}
	s.ExpiresAt, err = decTime(expires)
	return s, err
}

func (db *DB) DeleteWebSession(ctx context.Context, hash string) error {
	if _, err := db.write(ctx, `DELETE FROM web_sessions WHERE hash = ?`, hash); err != nil {
		return fmt.Errorf("delete web session: %w", err)
	}
	return nil
}
