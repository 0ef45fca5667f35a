// Package handlers holds sitrep's vendor-free entry points: HTTP endpoints
// (the generic, Alertmanager and PagerDuty webhooks, the REST API, health)
// that verify and translate inbound requests into domain calls. Business
// logic lives in package bot. Slack's endpoints live in slackchat, which
// answers by this package's conventions (ReadBody, DecodeJSON, WriteError,
// WriteJSON); handlers imports no chat vendor.
package handlers

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/sitrep-io/sitrep/bot"
)

// maxBody is the largest request body accepted (1 MiB).
const maxBody = 1 << 20

// ErrorBody is the JSON shape of every error response.
type ErrorBody struct {
	Error string `json:"error"`
	Field string `json:"field,omitempty"`
}

// StatusOf maps a domain error code to an HTTP status: the one place where
// that mapping lives.
func StatusOf(code string) int {
	switch code {
	case bot.EINVALID:
		return http.StatusBadRequest
	case bot.ENOTFOUND:
		return http.StatusNotFound
	case bot.ECONFLICT:
		return http.StatusConflict
	case bot.EUNAUTHORIZED:
		return http.StatusUnauthorized
	case bot.EFORBIDDEN:
		return http.StatusForbidden
	case bot.EUNAVAILABLE:
		return http.StatusServiceUnavailable
	default:
		return http.StatusInternalServerError
	}
}

// RetryAfterUnavailable is the Retry-After of a 503 answered while storage
// fails: the vendors (PagerDuty, Alertmanager, any webhook client that
// honours it) send the request again, and nothing is lost.
const RetryAfterUnavailable = 30 * time.Second

// WriteError answers with err's status and message. Unexpected errors are
// logged and answered without detail; a storage failure is answered 503
// with Retry-After.
func WriteError(w http.ResponseWriter, log *slog.Logger, err error) {
	code := bot.ErrorCode(err)
	switch code {
	case bot.EINTERNAL:
		log.Error("request failed", "err", err)
	case bot.EUNAVAILABLE:
		log.Warn("request refused for now: storage is failing; answered 503 with Retry-After", "err", err)
		w.Header().Set("Retry-After", strconv.Itoa(int(RetryAfterUnavailable/time.Second)))
	}
	body := ErrorBody{Error: bot.PlainText(bot.ErrorMessage(err))}
	var be *bot.Error
	if errors.As(err, &be) {
		body.Error, body.Field = be.Message, be.Field
	}
	WriteJSON(w, StatusOf(code), body)
}

func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// ReadBody reads a request body of at most maxBody bytes. A larger body is
// answered with 413 and reported as !ok.
func ReadBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	body, err := readAllLimited(w, r)
	if err == nil {
		return body, true
	}
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		WriteJSON(w, http.StatusRequestEntityTooLarge, ErrorBody{Error: "request body over 1 MiB"})
	} else {
		WriteJSON(w, http.StatusBadRequest, ErrorBody{Error: "could not read the request body"})
	}
	return nil, false
}

func readAllLimited(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	defer r.Body.Close()
	return io.ReadAll(r.Body)
}

// allowMethod answers 405 unless r uses method.
func allowMethod(w http.ResponseWriter, r *http.Request, method string) bool {
	if r.Method == method {
		return true
	}
	w.Header().Set("Allow", method)
	WriteJSON(w, http.StatusMethodNotAllowed, ErrorBody{Error: "use " + method})
	return false
}
