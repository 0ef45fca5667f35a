package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Prepared statements.
//
// Why: modernc's driver keeps no statement cache, so every t.tx.Exec(query)
// parses and plans its SQL again; in an alert storm that was about a quarter
// of sitrep's CPU (docs/benchmarks.md), spent while holding the single
// writer connection that every webhook queues for. The statements on the
// webhook and outbox hot paths are therefore prepared once, on the writer's
// one connection, when the database opens. A transaction uses them through
// sql.Tx.Stmt, which reuses the statement already prepared on the
// transaction's connection (database/sql prepares it again by itself should
// the connection ever be replaced). Any other statement runs as before.
//
// They are prepared eagerly because lazily is not possible: preparing on
// the writer while a transaction holds its only connection would wait
// forever.

// hotStatements are the statements prepared at Open.
var hotStatements = []string{
	sqlIncidentByID, sqlOpenIncidentByDedupKey, sqlLatestIncidentByDedupKey, sqlInsertIncident, sqlUpdateIncident,
	sqlInsertEvent,
	sqlPruneChatEvents, sqlMarkChatEvent,
	sqlAlertTriage, sqlPendingCoalesced,
	sqlSupersede, sqlEnqueue, sqlDueDeliveries, sqlClaimDelivery,
	sqlCompleteDelivery, sqlRetryDelivery, sqlFailDelivery,
	sqlSavepoint, sqlRollbackTo, sqlRelease,
}

// prepareHot prepares hotStatements on the writer.
func prepareHot(ctx context.Context, writer *sql.DB) (map[string]*sql.Stmt, error) {
	stmts := make(map[string]*sql.Stmt, len(hotStatements))
	for _, q := range hotStatements {
		s, err := writer.PrepareContext(ctx, q)
		if err != nil {
			closeStmts(stmts)
			return nil, fmt.Errorf("prepare %.40q…: %w", q, err)
		}
		stmts[q] = s
	}
	return stmts, nil
}

func closeStmts(stmts map[string]*sql.Stmt) error {
	var errs []error
	for _, s := range stmts {
		errs = append(errs, s.Close())
	}
	return errors.Join(errs...)
}

// stmt is the transaction's handle on a prepared statement; nil when query
// is not one of hotStatements. The handles are kept for the transaction
// (txStmts), which a batch of changes shares: making one costs a few
// allocations and two locked map updates in database/sql.
func (t *tx) stmt(query string) *sql.Stmt {
	if t.db == nil {
		return nil
	}
	if s := t.txStmts[query]; s != nil {
		return s
	}
	s := t.db.stmts[query]
	if s == nil {
		return nil
	}
	ts := t.tx.Stmt(s)
	if t.txStmts != nil {
		t.txStmts[query] = ts
	}
	return ts
}

func (t *tx) exec(query string, args ...any) (sql.Result, error) {
	if s := t.stmt(query); s != nil {
		return s.Exec(args...)
	}
	return t.tx.Exec(query, args...)
}

func (t *tx) queryRow(query string, args ...any) *sql.Row {
	if s := t.stmt(query); s != nil {
		return s.QueryRow(args...)
	}
	return t.tx.QueryRow(query, args...)
}

func (t *tx) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if s := t.stmt(query); s != nil {
		return s.QueryContext(ctx, args...)
	}
	return t.tx.QueryContext(ctx, query, args...)
}
