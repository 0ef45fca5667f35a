package store

import (
	"time"

	"github.com/sitrep-io/sitrep/bot"
)

// Row codecs shared with the PostgreSQL store (store/postgres). Both stores
// keep the same tables and columns, with times as text in one layout, so a
// row reads back the same from either and `sitrep db copy` moves rows
// column for column; one codec keeps them from drifting apart.

// RowScanner is a row of a query result: *sql.Row, *sql.Rows, pgx.Row.
type RowScanner = scanner

// The column lists, in the order the Scan functions read them.
const (
	IncidentColumns     = incidentColumns
	IncidentColumnsNoID = incidentColumnsNoID
	EventColumns        = eventColumns
	DeliveryColumns     = deliveryColumns
	RunColumns          = runColumns
	TriageColumns       = triageColumns
)

// EncodeTime is how every time is stored: UTC, fixed-width nanoseconds (text
// order is time order); "" for the zero time.
func EncodeTime(t time.Time) string { return encTime(t) }

// DecodeTime reads what EncodeTime wrote.
func DecodeTime(s string) (time.Time, error) { return decTime(s) }

// ScanIncident reads one row of IncidentColumns.
func ScanIncident(row RowScanner) (bot.Incident, error) { return scanIncident(row) }

// IncidentArgs are the values of IncidentColumnsNoID for inc.
func IncidentArgs(inc bot.Incident) ([]any, error) { return incidentArgs(inc) }

// ScanEvent reads one row of EventColumns.
func ScanEvent(row RowScanner) (bot.Event, error) { return scanEvent(row) }

// ScanDelivery reads one row of DeliveryColumns.
func ScanDelivery(row RowScanner) (bot.Delivery, error) { return scanDelivery(row) }

// ScanRun reads one row of RunColumns.
func ScanRun(row RowScanner) (bot.RunbookRun, error) { return scanRun(row) }

// RunArgs are the values of RunColumnNames for r.
func RunArgs(r bot.RunbookRun) ([]any, error) { return runArgs(r) }

// RunColumnNames are RunColumns without id.
func RunColumnNames() []string { return runColumnNames() }

// ScanTriage reads one row of TriageColumns.
func ScanTriage(row RowScanner) (bot.Triage, error) { return scanTriage(row) }
