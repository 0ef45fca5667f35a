package postgres_test

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sitrep-io/sitrep/bot"
	"github.com/sitrep-io/sitrep/internal/pgtest"
	"github.com/sitrep-io/sitrep/store/postgres"
)

// roundTripProxy forwards PostgreSQL connections and counts the exchanges
// its clients wait for: each Sync (the extended protocol's end of a
// pipeline) and each Query (the simple protocol) is answered by one
// ReadyForQuery, one round trip over the network.
type roundTripProxy struct {
	ln    net.Listener
	trips atomic.Int64
	wg    sync.WaitGroup
}

func newRoundTripProxy(t *testing.T, target string) *roundTripProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &roundTripProxy{ln: ln}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			client, err := ln.Accept()
			if err != nil {
				return
			}
			server, err := net.Dial("tcp", target)
			if err != nil {
				client.Close()
				continue
			}
			p.wg.Add(2)
			go func() { defer p.wg.Done(); _, _ = io.Copy(client, server); client.Close() }()
			go func() { defer p.wg.Done(); p.forwardCounting(server, client); server.Close() }()
		}
	}()
	t.Cleanup(func() { ln.Close(); p.wg.Wait() })
	return p
}

// forwardCounting copies the client's messages to the server, counting.
func (p *roundTripProxy) forwardCounting(server io.Writer, client io.Reader) {
	r := bufio.NewReader(client)
	// The startup message has no type byte; an SSL or GSS request is
	// answered with one byte and followed by the startup message.
	for {
		var size uint32
		if binary.Read(r, binary.BigEndian, &size) != nil || size < 8 {
			return
		}
		msg := make([]byte, size-4)
		if _, err := io.ReadFull(r, msg); err != nil {
			return
		}
		_ = binary.Write(server, binary.BigEndian, size)
		if _, err := server.Write(msg); err != nil {
			return
		}
		if code := binary.BigEndian.Uint32(msg); code != 80877103 && code != 80877104 {
			break
		}
	}
	for {
		head := make([]byte, 5)
		if _, err := io.ReadFull(r, head); err != nil {
			return
		}
		body := make([]byte, binary.BigEndian.Uint32(head[1:])-4)
		if _, err := io.ReadFull(r, body); err != nil {
			return
		}
		if head[0] == 'S' || head[0] == 'Q' {
			p.trips.Add(1)
		}
		if _, err := server.Write(append(head, body...)); err != nil {
			return
		}
	}
}

// through returns dbURL with its host replaced by the proxy's.
func (p *roundTripProxy) through(t *testing.T, dbURL string) string {
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	u.Host = p.ln.Addr().String()
	q := u.Query()
	q.Set("pool_max_conns", "1") // one connection: no pool ping or dial in the count
	u.RawQuery = q.Encode()
	return u.String()
}

// Round trips are what a storm pays on PostgreSQL, per webhook: a
// transaction's BEGIN goes out with its first statement, not on a trip of
// its own. Counted on the wire (roundTripProxy), after one warm-up of each
// operation so that pgx's statement cache holds its statements.
func TestRoundTripsPerWebhook(t *testing.T) {
	dbURL := pgtest.NewDatabase(t)
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := newRoundTripProxy(t, u.Host)
	db, err := postgres.Open(t.Context(), proxy.through(t, dbURL))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	svc := bot.NewService(db, bot.ServiceConfig{BroadcastChannel: "C-broadcast"})
	wireAlerting(t, svc, db)
	if _, err := svc.IngestAlertGroup(t.Context(), benchGroup(0)); err != nil {
		t.Fatal(err)
	}
	mark := func(id string) error {
		return db.Update(t.Context(), func(tx bot.Tx) error {
			_, err := tx.MarkChatEvent("pagerduty", id, benchT0, benchT0.Add(-time.Hour))
			return err
		})
	}
	trips := func(name string, op func(i int) error) int64 {
		if err := op(1); err != nil { // warm-up: prepares the statements
			t.Fatalf("%s: %v", name, err)
		}
		before := proxy.trips.Load()
		if err := op(2); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return proxy.trips.Load() - before
	}
	for _, tt := range []struct {
		name string
		op   func(i int) error
		want int64
	}{
		// BEGIN+read incident, append event, read triage, look for a
		// pending summary, COMMIT (it was 6, BEGIN on its own).
		{"repeated alert", func(i int) error {
			out, err := svc.IngestAlertGroup(t.Context(), benchGroup(int64(i)))
			if err == nil && out.Recorded != 1 {
				err = fmt.Errorf("recorded %d, want 1", out.Recorded)
			}
			return err
		}, 5},
		// BEGIN+insert the mark, COMMIT (it was 3).
		{"delivery mark", func(i int) error { return mark(fmt.Sprint("delivery-", i)) }, 2},
		// A transaction that reads nothing and writes nothing costs none.
		{"empty change", func(int) error { return db.Update(t.Context(), func(bot.Tx) error { return nil }) }, 0},
	} {
		if got := trips(tt.name, tt.op); got != tt.want {
			t.Errorf("%s: %d round trips, want %d", tt.name, got, tt.want)
		}
	}
}

// A change that fails after its first statement is rolled back whole, and
// the connection it ran on serves the next change (one connection: the
// pool cannot hide a connection left in a failed transaction).
func TestFailedChangeLeavesTheConnectionClean(t *testing.T) {
	dbURL := pgtest.NewDatabase(t)
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := newRoundTripProxy(t, u.Host)
	db, err := postgres.Open(t.Context(), proxy.through(t, dbURL))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	boom := errors.New("boom")
	err = db.Update(t.Context(), func(tx bot.Tx) error {
		if _, err := tx.MarkChatEvent("pagerduty", "rolled-back", benchT0, time.Time{}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Update = %v, want the change's error", err)
	}
	// A statement that fails in the database aborts the transaction.
	err = db.Update(t.Context(), func(tx bot.Tx) error {
		if _, err := tx.Incident(-1); err == nil {
			return errors.New("read an incident that does not exist")
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Update = %v, want the change's error", err)
	}
	var fresh bool
	err = db.Update(t.Context(), func(tx bot.Tx) error {
		var err error
		fresh, err = tx.MarkChatEvent("pagerduty", "rolled-back", benchT0, time.Time{})
		return err
	})
	if err != nil || !fresh {
		t.Fatalf("after a rolled-back change: fresh %v, %v (want the mark to be new: the first one was rolled back)", fresh, err)
	}
}
