package bot

import (
	"context"
	"time"
)

// Signing in to the web view. Secrets (a login link's token, a session's
// cookie) are never stored: the store keeps their SHA-256, so a copy of the
// database opens no session. Both live in the database, not in a replica's
// memory, so a link made on one replica signs in on another.

// LoginLink is a one-time sign-in link (`sitrep web-login`).
type LoginLink struct {
	Hash      string // hex SHA-256 of the link's token
	UserID    string // who it signs in as: a chat user id, or a name
	Name      string // shown in the web view
	CreatedAt time.Time
	ExpiresAt time.Time
}

// WebSession is a signed-in browser.
type WebSession struct {
	Hash      string // hex SHA-256 of the session cookie
	UserID    string
	Name      string
	CSRF      string // the token every form of this session carries
	Via       string // "link" or "slack"
	CreatedAt time.Time
	ExpiresAt time.Time
}

// SessionStore keeps login links and web sessions.
type SessionStore interface {
	CreateLoginLink(ctx context.Context, l LoginLink) error
	// UseLoginLink spends a link: it returns it once, and ENOTFOUND for an
	// unknown, spent or expired link, also when two requests (on two
	// replicas) spend it at once.
	UseLoginLink(ctx context.Context, hash string, now time.Time) (LoginLink, error)
	CreateWebSession(ctx context.Context, s WebSession) error
	// WebSession returns a session that has not expired at now, or ENOTFOUND.
	WebSession(ctx context.Context, hash string, now time.Time) (WebSession, error)
	DeleteWebSession(ctx context.Context, hash string) error
}
