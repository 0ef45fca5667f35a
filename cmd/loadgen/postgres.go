package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sitrep-io/sitrep/store/postgres"
)

// createDatabase creates an empty database named loadgen_<random> on the
// server adminURL names and returns its URL and a drop that removes it
// again, so a run leaves nothing behind on the server.
func createDatabase(ctx context.Context, adminURL string) (string, func(), error) {
	if err := postgres.CheckURL(adminURL); err != nil {
		return "", nil, fmt.Errorf("-db: %w", err)
	}
	u, err := url.Parse(adminURL)
	if err != nil {
		return "", nil, fmt.Errorf("-db %s: %w", postgres.Redact(adminURL), err)
	}
	conn, err := pgx.Connect(ctx, withoutPoolSettings(u))
	if err != nil {
		return "", nil, fmt.Errorf("-db %s: connect: %w (is the server up, and may its user create databases?)", postgres.Redact(adminURL), err)
	}
	defer conn.Close(context.Background())
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "loadgen_" + hex.EncodeToString(b)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return "", nil, fmt.Errorf("-db %s: create database %s: %w", postgres.Redact(adminURL), name, err)
	}
	drop := func() {
		// The run's context may have expired: the drop gets its own.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, withoutPoolSettings(u))
		if err == nil {
			defer c.Close(ctx)
			_, err = c.Exec(ctx, "DROP DATABASE "+name+" WITH (FORCE)")
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "loadgen: drop database %s: %v (drop it by hand)\n", name, err)
		}
	}
	created := *u
	created.Path = "/" + name
	return created.String(), drop, nil
}

// withoutPoolSettings is the URL without pgxpool's own parameters
// (pool_max_conns…), which the pools sitrep and the baseline open honour
// and a single connection would send to the server as unknown settings.
func withoutPoolSettings(u *url.URL) string {
	c := *u
	q := c.Query()
	for k := range q {
		if strings.HasPrefix(k, "pool_") {
			q.Del(k)
		}
	}
	c.RawQuery = q.Encode()
	return c.String()
}

// runBaselinePostgres sends the same requests to a bare handler that reads
// the body and does one PostgreSQL insert (pgx's pool with its default size,
// as sitrep's store opens it) into a database of its own on the server
// adminURL names: the floor sitrep on PostgreSQL is compared with.
func runBaselinePostgres(ctx context.Context, adminURL string, reqs []request, conc int) (result, error) {
	dbURL, drop, err := createDatabase(ctx, adminURL)
	if err != nil {
		return result{}, err
	}
	defer drop()
	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		return result{}, fmt.Errorf("open %s: %w", postgres.Redact(dbURL), err)
	}
	defer pool.Close()
	if _, err := pool.Exec(ctx, `CREATE TABLE hits (id BIGSERIAL PRIMARY KEY, path TEXT NOT NULL, body TEXT NOT NULL)`); err != nil {
		return result{}, err
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
		if err == nil {
			_, err = pool.Exec(r.Context(), `INSERT INTO hits (path, body) VALUES ($1, $2)`, r.URL.Path, string(body))
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"ok":true}`)
	})
	base, stop, err := listen(h, nil)
	if err != nil {
		return result{}, err
	}
	defer stop()
	return fire(ctx, []string{base}, reqs, conc)
}
