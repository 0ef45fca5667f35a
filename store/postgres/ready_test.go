package postgres_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/sitrep-io/sitrep/handlers"
	"github.com/sitrep-io/sitrep/internal/pgtest"
)

// tcpProxy forwards connections to target until cut, and can be started
// again on the same address: the network between a replica and its
// database.
type tcpProxy struct {
	t      *testing.T
	target string
	addr   string
	mu     sync.Mutex
	ln     net.Listener
	conns  []net.Conn
}

func newProxy(t *testing.T, target string) *tcpProxy {
	p := &tcpProxy{t: t, target: target, addr: "127.0.0.1:0"}
	p.start()
	t.Cleanup(p.cut)
	return p
}

func (p *tcpProxy) start() {
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		p.t.Fatal(err)
	}
	p.mu.Lock()
	p.ln, p.addr = ln, ln.Addr().String()
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(up, c); up.Close() }()
			go func() { _, _ = io.Copy(c, up); c.Close() }()
		}
	}()
}

// cut closes the listener and every connection through it.
func (p *tcpProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

func readyz(t *testing.T, h http.Handler) int {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	return rec.Code
}

// TestReadyzFollowsPostgres: /readyz on the PostgreSQL store is not ready
// while the database is unreachable and again ready by itself when it
// returns; it is not ready either while the database lacks a migration of
// this sitrep.
func TestReadyzFollowsPostgres(t *testing.T) {
	direct := pgtest.NewDatabase(t)
	u, err := url.Parse(direct)
	if err != nil {
		t.Fatal(err)
	}
	proxy := newProxy(t, u.Host)
	u.Host = proxy.addr
	db := open(t, u.String())
	ready := handlers.Readyz(db, slog.New(slog.DiscardHandler))

	if code := readyz(t, ready); code != http.StatusOK {
		t.Fatalf("readyz = %d, want 200", code)
	}
	proxy.cut()
	if code := readyz(t, ready); code != http.StatusServiceUnavailable {
		t.Errorf("readyz with PostgreSQL unreachable = %d, want 503", code)
	}
	proxy.start() // the same address
	if code := readyz(t, ready); code != http.StatusOK {
		t.Errorf("readyz once PostgreSQL is back = %d, want 200", code)
	}

	conn, err := pgx.Connect(t.Context(), direct)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(t.Context(), `DELETE FROM schema_migrations WHERE version = (SELECT max(version) FROM schema_migrations)`); err != nil {
		t.Fatal(err)
	}
	if code := readyz(t, ready); code != http.StatusServiceUnavailable {
		t.Errorf("readyz with a migration pending = %d, want 503", code)
	}
	if err := db.Ping(t.Context()); err == nil || !strings.Contains(err.Error(), "sitrep migrate") {
		t.Errorf("Ping with a migration pending = %v, want it to say to run sitrep migrate", err)
	}
}
