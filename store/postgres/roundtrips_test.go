package postgres_test

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
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
	ln      net.Listener
	trips   atomic.Int64
	commits atomic.Int64 // COMMIT statements (sent on the simple protocol)
	wg      sync.WaitGroup
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
		if head[0] == 'Q' && strings.HasPrefix(strings.ToUpper(string(body)), "COMMIT") {
			p.commits.Add(1)
		}
		if _, err := server.Write(append(head, body...)); err != nil {
			return
		}
	}
}

// through returns dbURL with its host replaced by the proxy's, and a pool
// of one connection.
func (p *roundTripProxy) through(t *testing.T, dbURL string) string {
	return p.withPool(t, dbURL, 1)
}

func (p *roundTripProxy) withPool(t *testing.T, dbURL string, conns int) string {
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	u.Host = p.ln.Addr().String()
	q := u.Query()
	q.Set("pool_max_conns", fmt.Sprint(conns)) // one connection: no pool ping or dial in the count
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

// Concurrent changes are committed together (group commit, batch.go): 20
// changes queued while the writers are busy take a handful of COMMITs, not
// 20, and every one of them is stored.
func TestGroupCommit(t *testing.T) {
	dbURL := pgtest.NewDatabase(t)
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := newRoundTripProxy(t, u.Host)
	db, err := postgres.Open(t.Context(), proxy.withPool(t, dbURL, 4))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	ctx := t.Context()
	// Keep both writers busy, one after the other: the second blocker can
	// only start on the writer the first does not hold.
	release := make(chan struct{})
	var blockers sync.WaitGroup
	for i := range 2 {
		started := make(chan struct{})
		blockers.Go(func() {
			err := db.Update(ctx, func(tx bot.Tx) error {
				close(started)
				<-release
				_, err := tx.MarkChatEvent("test", fmt.Sprint("blocker-", i), benchT0, time.Time{})
				return err
			})
			if err != nil {
				t.Error(err)
			}
		})
		<-started
	}
	const n = 20
	var changes sync.WaitGroup
	for i := range n {
		changes.Go(func() {
			err := db.Update(ctx, func(tx bot.Tx) error {
				_, err := tx.MarkChatEvent("test", fmt.Sprint("change-", i), benchT0, time.Time{})
				return err
			})
			if err != nil {
				t.Error(err)
			}
		})
	}
	time.Sleep(100 * time.Millisecond) // the changes queue behind the busy writers
	before := proxy.commits.Load()
	close(release)
	blockers.Wait()
	changes.Wait()
	commits := proxy.commits.Load() - before - 2 // the blockers' own
	if commits > n/2 {
		t.Errorf("%d changes took %d commits: not batched", n, commits)
	}
	t.Logf("%d concurrent changes in %d commits", n, commits)
	for i := range n {
		var fresh bool
		err := db.Update(ctx, func(tx bot.Tx) error {
			var err error
			fresh, err = tx.MarkChatEvent("test", fmt.Sprint("change-", i), benchT0, time.Time{})
			return err
		})
		if err != nil || fresh {
			t.Errorf("change %d not stored (marking it again was new: %v, %v)", i, fresh, err)
		}
	}
}
