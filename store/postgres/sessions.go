package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/sitrep-io/sitrep/bot"
	"github.com/sitrep-io/sitrep/store"
)

var _ bot.SessionStore = (*DB)(nil)

// CreateLoginLink stores a one-time link, pruning expired links and
// sessions on the way (links are made by hand: rarely).
func (db *DB) CreateLoginLink(ctx context.Context, l bot.LoginLink) error {
	if _, err := db.pool.Exec(ctx, `DELETE FROM login_links WHERE expires_at < $1`, store.EncodeTime(l.CreatedAt.Add(-24*time.Hour))); err != nil {
		return fmt.Errorf("prune login links: %w", err)
	}
	if _, err := db.pool.Exec(ctx, `DELETE FROM web_sessions WHERE expires_at < $1`, store.EncodeTime(l.CreatedAt)); err != nil {
		return fmt.Errorf("prune web sessions: %w", err)
	}
	if _, err := db.pool.Exec(ctx, `INSERT INTO login_links (hash, user_id, name, created_at, expires_at) VALUES ($1,$2,$3,$4,$5)`,
		l.Hash, l.UserID, l.Name, store.EncodeTime(l.CreatedAt), store.EncodeTime(l.ExpiresAt)); err != nil {
		return fmt.Errorf("store login link: %w", err)
	}
	return nil
}

// UseLoginLink spends a link: the conditional update is the claim, so of two
// replicas spending it at once one gets it.
func (db *DB) UseLoginLink(ctx context.Context, hash string, now time.Time) (bot.LoginLink, error) {
	var l bot.LoginLink
	var created, expires string
	err := db.pool.QueryRow(ctx, `UPDATE login_links SET used_at = $1 WHERE hash = $2 AND used_at = '' AND expires_at > $1
		RETURNING hash, user_id, name, created_at, expires_at`, store.EncodeTime(now), hash).
		Scan(&l.Hash, &l.UserID, &l.Name, &created, &expires)
	if errors.Is(err, pgx.ErrNoRows) {
		return bot.LoginLink{}, bot.Errorf(bot.ENOTFOUND, "this sign-in link is unknown, used or expired: make a new one with `sitrep web-login`")
	}
	if err != nil {
		return bot.LoginLink{}, fmt.Errorf("use login link: %w", err)
	}
	if l.CreatedAt, err = store.DecodeTime(created); err != nil {
		return bot.LoginLink{}, err
	}
	l.ExpiresAt, err = store.DecodeTime(expires)
	return l, err
}

func (db *DB) CreateWebSession(ctx context.Context, s bot.WebSession) error {
	if _, err := db.pool.Exec(ctx, `INSERT INTO web_sessions (hash, user_id, name, csrf, via, created_at, expires_at) VALUES ($1,$2,$3,$4,$5,$6,$7)`,
		s.Hash, s.UserID, s.Name, s.CSRF, s.Via, store.EncodeTime(s.CreatedAt), store.EncodeTime(s.ExpiresAt)); err != nil {
		return fmt.Errorf("store web session: %w", err)
	}
	return nil
}

func (db *DB) WebSession(ctx context.Context, hash string, now time.Time) (bot.WebSession, error) {
	var s bot.WebSession
	var created, expires string
	err := db.pool.QueryRow(ctx, `SELECT hash, user_id, name, csrf, via, created_at, expires_at FROM web_sessions
		WHERE hash = $1 AND expires_at > $2`, hash, store.EncodeTime(now)).
		Scan(&s.Hash, &s.UserID, &s.Name, &s.CSRF, &s.Via, &created, &expires)
	if errors.Is(err, pgx.ErrNoRows) {
		return bot.WebSession{}, bot.Errorf(bot.ENOTFOUND, "not signed in, or the session expired")
	}
	if err != nil {
		return bot.WebSession{}, fmt.Errorf("read web session: %w", err)
	}
	if s.CreatedAt, err = store.DecodeTime(created); err != nil {
		return bot.WebSession{}, err
	}
	s.ExpiresAt, err = store.DecodeTime(expires)
	return s, err
}

func (db *DB) DeleteWebSession(ctx context.Context, hash string) error {
	if _, err := db.pool.Exec(ctx, `DELETE FROM web_sessions WHERE hash = $1`, hash); err != nil {
		return fmt.Errorf("delete web session: %w", err)
	}
	return nil
}
