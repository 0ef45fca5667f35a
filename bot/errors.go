package bot

import (
	"errors"
	"fmt"
)

// Error codes. Each maps to one HTTP status and one kind of user-facing
// message, in exactly one place per edge (handlers, chat).
const (
	EINVALID      = "invalid"      // the request is malformed or not allowed in this state
	ENOTFOUND     = "not_found"    // the thing asked for does not exist
	ECONFLICT     = "conflict"     // the change collides with existing state
	EUNAUTHORIZED = "unauthorized" // the caller did not prove who it is
	EFORBIDDEN    = "forbidden"    // the caller is known but may not do this
	EINTERNAL     = "internal"     // anything unexpected
	// EUNAVAILABLE: storage sitrep cannot do without fails for now (a full
	// disk, a read-only or corrupt database). It is a temporary failure
	// everywhere: webhooks answer 503 with Retry-After, the outbox retries.
	EUNAVAILABLE = "unavailable"
)

// Error is the domain's one error type: a code and a message meant for the
// person who caused it, saying what to do next.
type Error struct {
	Code    string
	Message string
	Field   string // the input field at fault, when there is one
	// Cause is the underlying failure, for logs and errors.Is/As; it is
	// never shown to the person (Message is).
	Cause error
}

// Unwrap returns the underlying failure, if any.
func (e *Error) Unwrap() error { return e.Cause }

func (e *Error) Error() string {
	if e.Cause != nil {
		return e.shown() + ": " + e.Cause.Error()
	}
	return e.shown()
}

// shown is the message for the person, without the cause.
func (e *Error) shown() string {
	if e.Field != "" {
		return fmt.Sprintf("%s: %s", e.Field, e.Message)
	}
	return e.Message
}

// Errorf returns an *Error with the given code.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// FieldErrorf returns an EINVALID *Error naming the field at fault.
func FieldErrorf(field, format string, args ...any) *Error {
	return &Error{Code: EINVALID, Field: field, Message: fmt.Sprintf(format, args...)}
}

// Unavailable returns an EUNAVAILABLE *Error for a storage failure of the
// given kind ("disk full", "read-only", "corrupt", ...), keeping cause.
func Unavailable(kind string, cause error) *Error {
	return &Error{Code: EUNAVAILABLE, Cause: cause,
		Message: fmt.Sprintf("sitrep cannot store changes right now (database %s); nothing was changed. Try again in a minute: sitrep recovers by itself once its storage does", kind)}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL
// for any other non-nil error, and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the user-facing message of err: the *Error's message,
// or a generic one for unexpected errors, whose details belong in logs only.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.shown()
	}
	return "internal error; the details are in the sitrep log"
}
