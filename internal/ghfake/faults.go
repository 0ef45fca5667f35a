package ghfake

import (
	"net/http"
	"strconv"
	"time"
)

// Always, as Fault.Times, makes a fault apply to every matching request.
const Always = -1

// Documentation URLs GitHub puts in rate-limit errors. go-github recognises
// the secondary limit by the "secondary-rate-limits" suffix.
const (
	primaryRateLimitDoc   = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-the-primary-rate-limit"
	secondaryRateLimitDoc = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"
)

// Fault describes how the fake misbehaves on a route. Build one with the
// constructors below, or fill the fields directly.
type Fault struct {
	// Status is the HTTP status to answer. Zero means answer normally
	// (after Delay).
	Status int
	// Body is encoded as the JSON response body.
	Body any
	// Header holds response headers; they replace the default rate-limit
	// headers of the same name.
	Header http.Header
	// Delay is waited before answering; a cancelled request context cuts it
	// short and nothing is answered.
	Delay time.Duration
	// Times is how many matching requests the fault affects: 0 or 1 means
	// once, Always means every one.
	Times int
}

// Repeat returns a copy of f affecting n requests (or Always).
func (f Fault) Repeat(n int) Fault {
	f.Times = n
	return f
}

// BadCredentials returns a 401 "Bad credentials" fault.
func BadCredentials() Fault {
	return Fault{Status: http.StatusUnauthorized, Body: errorBody("Bad credentials", docsRoot)}
}

// NotFound returns a 404 "Not Found" fault.
func NotFound() Fault {
	return Fault{Status: http.StatusNotFound, Body: errorBody("Not Found", docsRoot)}
}

// ValidationError is one entry of a 422 response's "errors" array.
type ValidationError struct {
	Resource string `json:"resource,omitempty"`
	Field    string `json:"field,omitempty"`
	Code     string `json:"code"`
	Message  string `json:"message,omitempty"`
}

// ValidationFailed returns a 422 {"message":"Validation Failed","errors":[...]}
// fault.
func ValidationFailed(errs ...ValidationError) Fault {
	return Fault{Status: http.StatusUnprocessableEntity, Body: validationBody(errs...)}
}

// PrimaryRateLimit returns a primary rate-limit fault: status (403 or 429)
// with x-ratelimit-remaining: 0 and x-ratelimit-reset at reset (UTC epoch
// seconds).
func PrimaryRateLimit(status int, reset time.Time) Fault {
	h := http.Header{}
	h.Set("x-ratelimit-limit", strconv.Itoa(rateLimit))
	h.Set("x-ratelimit-remaining", "0")
	h.Set("x-ratelimit-used", strconv.Itoa(rateLimit))
	h.Set("x-ratelimit-reset", strconv.FormatInt(reset.Unix(), 10))
	return Fault{Status: status, Header: h,
		Body: errorBody("API rate limit exceeded for user ID 1.", primaryRateLimitDoc)}
}

// SecondaryRateLimit returns a secondary rate-limit fault: status (403 or
// 429) with a retry-after header in whole seconds.
func SecondaryRateLimit(status int, retryAfter time.Duration) Fault {
	h := http.Header{}
	h.Set("retry-after", strconv.Itoa(int(retryAfter/time.Second)))
	return Fault{Status: status, Header: h, Body: errorBody(
		"You have exceeded a secondary rate limit. Please wait a few minutes before you try again.", secondaryRateLimitDoc)}
}

// ServerError returns a fault answering status (such as 500 or 502).
func ServerError(status int) Fault {
	return Fault{Status: status, Body: errorBody("Server Error", "")}
}

// Slow returns a fault that delays the normal answer by d.
func Slow(d time.Duration) Fault {
	return Fault{Delay: d}
}

// Fail arms a fault on route (a Route constant, or AnyRoute). Faults fire in
// the order they were armed, before the authentication check.
func (s *Server) Fail(route string, f Fault) {
	s.faults.Arm(route, f, f.Times)
}

// ClearFaults removes every armed fault.
func (s *Server) ClearFaults() {
	s.faults.Clear()
}

func (f *Fault) write(w http.ResponseWriter) {
	for k, vs := range f.Header {
		w.Header().Del(k)
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	body := f.Body
	if body == nil {
		body = errorBody(http.StatusText(f.Status), docsRoot)
	}
	writeJSON(w, f.Status, body)
}
