package main

import (
	"context"
	"database/sql"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"

	_ "modernc.org/sqlite" // the driver sitrep uses
)

// runBaseline sends the same requests to a bare handler that reads the body
// and does one SQLite insert (same driver and pragmas as sitrep's store, one
// writer connection), the floor sitrep's throughput is compared with.
func runBaseline(ctx context.Context, reqs []request, conc int) (result, error) {
	dir, err := os.MkdirTemp("", "sitrep-loadgen-baseline-")
	if err != nil {
		return result{}, err
	}
	defer os.RemoveAll(dir)
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "bare.db")+"?"+q.Encode())
	if err != nil {
		return result{}, err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, `CREATE TABLE hits (id INTEGER PRIMARY KEY, path TEXT NOT NULL, body TEXT NOT NULL)`); err != nil {
		return result{}, err
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
		if err == nil {
			_, err = db.ExecContext(r.Context(), `INSERT INTO hits (path, body) VALUES (?, ?)`, r.URL.Path, string(body))
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
