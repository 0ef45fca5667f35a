package postgres

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
)

// Moving a SQLite database over (`sitrep db copy`).

// Source is a database to copy from: SQLite's store (*store.DB).
type Source interface {
	// Tables lists the tables to copy (not schema_migrations).
	Tables(ctx context.Context) ([]string, error)
	// ReadTable calls fn with every row of table.
	ReadTable(ctx context.Context, table string, fn func(columns []string, row []any) error) error
}

// CopyReport says what CopyFrom copied.
type CopyReport struct {
	Tables []TableCount // in the order copied
	// Recovered counts the outbox entries that were sending in the source
	// (its process had died or was stopped mid-delivery), copied as pending
	// and uncertain, as a restart on the source would have made them.
	Recovered int
}

// TableCount is the number of rows copied into one table.
type TableCount struct {
	Table string
	Rows  int
}

// ErrNotEmpty is wrapped by CopyFrom's error when the target has data.
var ErrNotEmpty = fmt.Errorf("the PostgreSQL database is not empty")

// CopyFrom copies every table of src into db, which must be empty (migrated,
// no rows): ids and outbox state as they are, each identity sequence then
// moved past the highest id copied. It is one transaction: on any error the
// target is left as it was. A table of src that db does not have, or a
// column it lacks, is an error (the two schemas must be at the same
// version: run this sitrep's `migrate` on both).
func (db *DB) CopyFrom(ctx context.Context, src Source) (CopyReport, error) {
	var rep CopyReport
	srcTables, err := src.Tables(ctx)
	if err != nil {
		return rep, err
	}
	err = pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		schema, err := readSchema(ctx, tx)
		if err != nil {
			return err
		}
		for _, t := range schema.order {
			var n int64
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM `+pgx.Identifier{t}.Sanitize()).Scan(&n); err != nil {
				return fmt.Errorf("count rows of %s: %w", t, err)
			}
			if n > 0 {
				return fmt.Errorf("%w: table %s has %d rows. db copy only fills an empty database, so that nothing is mixed or lost: give the URL of a new database (CREATE DATABASE), or drop this one and create it again", ErrNotEmpty, t, n)
			}
		}
		for _, t := range srcTables {
			if _, ok := schema.columns[t]; !ok {
				return fmt.Errorf("the SQLite database has a table %s that the PostgreSQL one lacks: are both at this sitrep's schema version? (run `sitrep migrate` on each)", t)
			}
		}
		for _, t := range schema.order {
			if !slices.Contains(srcTables, t) {
				continue // a table SQLite does not have (yet): nothing to copy
			}
			n, recovered, err := copyTable(ctx, tx, src, t, schema.columns[t])
			if err != nil {
				return err
			}
			rep.Tables = append(rep.Tables, TableCount{Table: t, Rows: n})
			rep.Recovered += recovered
			for _, c := range schema.identity[t] {
				if _, err := tx.Exec(ctx, `SELECT setval(pg_get_serial_sequence($1, $2), max_id)
					FROM (SELECT max(`+pgx.Identifier{c}.Sanitize()+`) AS max_id FROM `+pgx.Identifier{t}.Sanitize()+`) m
					WHERE max_id IS NOT NULL`, t, c); err != nil {
					return fmt.Errorf("move the id sequence of %s past the copied ids: %w", t, err)
				}
			}
		}
		return nil
	})
	if err != nil {
		return CopyReport{}, err
	}
	return rep, nil
}

// pgSchema is what CopyFrom needs to know of the target's tables.
type pgSchema struct {
	order    []string                     // every table, each after the tables it references
	columns  map[string]map[string]string // table → column → data type
	identity map[string][]string          // table → its identity columns
}

func readSchema(ctx context.Context, tx pgx.Tx) (pgSchema, error) {
	s := pgSchema{columns: map[string]map[string]string{}, identity: map[string][]string{}}
	rows, err := tx.Query(ctx, `SELECT table_name, column_name, data_type, is_identity FROM information_schema.columns
		WHERE table_schema = current_schema() AND table_name <> 'schema_migrations' ORDER BY table_name, ordinal_position`)
	if err != nil {
		return s, fmt.Errorf("read the PostgreSQL schema: %w", err)
	}
	var tables []string
	for rows.Next() {
		var table, col, typ, ident string
		if err := rows.Scan(&table, &col, &typ, &ident); err != nil {
			return s, fmt.Errorf("read the PostgreSQL schema: %w", err)
		}
		if s.columns[table] == nil {
			s.columns[table] = map[string]string{}
			tables = append(tables, table)
		}
		s.columns[table][col] = typ
		if ident == "YES" {
			s.identity[table] = append(s.identity[table], col)
		}
	}
	if err := rows.Err(); err != nil {
		return s, fmt.Errorf("read the PostgreSQL schema: %w", err)
	}
	rows, err = tx.Query(ctx, `SELECT c.conrelid::regclass::text, c.confrelid::regclass::text FROM pg_constraint c
		JOIN pg_namespace n ON n.oid = c.connamespace WHERE c.contype = 'f' AND n.nspname = current_schema()`)
	if err != nil {
		return s, fmt.Errorf("read the PostgreSQL foreign keys: %w", err)
	}
	refs := map[string][]string{}
	for rows.Next() {
		var from, to string
		if err := rows.Scan(&from, &to); err != nil {
			return s, fmt.Errorf("read the PostgreSQL foreign keys: %w", err)
		}
		refs[from] = append(refs[from], to)
	}
	if err := rows.Err(); err != nil {
		return s, fmt.Errorf("read the PostgreSQL foreign keys: %w", err)
	}
	// Parents first (a depth-first topological order; sitrep's schema has
	// no reference cycles).
	done := map[string]bool{}
	var visit func(t string)
	visit = func(t string) {
		if done[t] {
			return
		}
		done[t] = true
		for _, parent := range refs[t] {
			if parent != t {
				visit(parent)
			}
		}
		s.order = append(s.order, t)
	}
	for _, t := range tables {
		visit(t)
	}
	return s, nil
}

// copyTable streams one table with COPY, converting SQLite's values to the
// target's column types, and returns how many rows it copied and how many
// outbox entries it recovered. The rows go from the reader to COPY through
// a channel, so a big table is never held in memory whole.
func copyTable(ctx context.Context, tx pgx.Tx, src Source, table string, types map[string]string) (int, int, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type batch struct {
		columns []string
		row     []any
	}
	rows := make(chan batch, 256)
	readErr := make(chan error, 1)
	recovered := 0 // written by the reader, read after readErr
	go func() {
		defer close(rows)
		readErr <- src.ReadTable(ctx, table, func(columns []string, row []any) error {
			out := make([]any, len(row))
			for i, v := range row {
				typ, ok := types[columns[i]]
				if !ok {
					return fmt.Errorf("the SQLite table %s has a column %s that the PostgreSQL one lacks: are both at this sitrep's schema version? (run `sitrep migrate` on each)", table, columns[i])
				}
				out[i] = convert(v, typ)
			}
			if table == "outbox" && recoverSending(columns, out) {
				recovered++
			}
			select {
			case rows <- batch{columns, out}:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
	}()
	first, ok := <-rows
	if !ok { // an empty table, or a failed read
		if err := <-readErr; err != nil {
			return 0, 0, fmt.Errorf("copy %s: %w", table, err)
		}
		return 0, 0, nil
	}
	pending := &first
	n, err := tx.CopyFrom(ctx, pgx.Identifier{table}, first.columns, pgx.CopyFromFunc(func() ([]any, error) {
		if pending != nil {
			row := pending.row
			pending = nil
			return row, nil
		}
		b, ok := <-rows
		if !ok {
			return nil, nil // the end (or a read error, reported below)
		}
		return b.row, nil
	}))
	cancel() // stops the reader if COPY failed
	for range rows {
	}
	if rerr := <-readErr; rerr != nil && err == nil {
		err = rerr
	}
	if err != nil {
		return 0, 0, fmt.Errorf("copy %s: %w", table, err)
	}
	return int(n), recovered, nil
}

// convert turns a SQLite value into one for a PostgreSQL column of type
// typ: SQLite keeps flags as 0/1 integers, PostgreSQL as booleans.
func convert(v any, typ string) any {
	switch x := v.(type) {
	case int64:
		if typ == "boolean" {
			return x != 0
		}
	case []byte:
		if strings.Contains(typ, "char") || typ == "text" {
			return string(x)
		}
	}
	return v
}

// recoverSending makes an outbox row that was sending pending and uncertain,
// with no lease: its delivery was cut off when the SQLite process stopped,
// and on PostgreSQL no restart recovers it (replicas go by leases). It
// reports whether it changed the row.
func recoverSending(columns []string, row []any) bool {
	at := func(name string) int { return slices.Index(columns, name) }
	state, uncertain := at("state"), at("uncertain")
	if state < 0 || uncertain < 0 || row[state] != "sending" {
		return false
	}
	row[state], row[uncertain] = "pending", true
	if lease := at("lease_until"); lease >= 0 {
		row[lease] = ""
	}
	if by := at("claimed_by"); by >= 0 {
		row[by] = ""
	}
	return true
}
