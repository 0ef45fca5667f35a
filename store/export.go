package store

import (
	"context"
	"fmt"
)

// Reading every table as it is, for `sitrep db copy` (store/postgres).

// Tables lists the database's tables, sitrep's own bookkeeping
// (schema_migrations) and SQLite's internal ones left out.
func (db *DB) Tables(ctx context.Context) ([]string, error) {
	rows, err := db.reader.QueryContext(ctx, `SELECT name FROM sqlite_master
		WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> 'schema_migrations' ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list tables: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, fmt.Errorf("list tables: %w", err)
		}
		out = append(out, name)
	}
	return out, rows.Err()
}

// ReadTable calls fn with every row of table, in rowid order, as SQLite
// stores it (int64, float64, string, []byte or nil per column); columns
// names them. table must be one of Tables.
func (db *DB) ReadTable(ctx context.Context, table string, fn func(columns []string, row []any) error) error {
	tables, err := db.Tables(ctx)
	if err != nil {
		return err
	}
	known := false
	for _, t := range tables {
		known = known || t == table
	}
	if !known {
		return fmt.Errorf("read table %s: no such table", table)
	}
	rows, err := db.reader.QueryContext(ctx, `SELECT * FROM "`+table+`" ORDER BY rowid`)
	if err != nil {
		return fmt.Errorf("read table %s: %w", table, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return fmt.Errorf("read table %s: %w", table, err)
	}
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return fmt.Errorf("read table %s: %w", table, err)
		}
		if err := fn(cols, vals); err != nil {
			return err
		}
	}
	return rows.Err()
}
