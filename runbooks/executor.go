package runbooks

import (
	"context"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/sitrep-io/sitrep/bot"
)

// Executor runs one rendered step.
//
// Execute returns a non-nil error only when the step could not be
// attempted at all because it is not something this executor runs (the
// error wraps [ErrWrongAction]) or is malformed (e.g. an exec step with an
// empty argv). Everything that happens while attempting it — a command
// that cannot be started, a non-zero exit, a timeout, a refused
// connection, an unexpected status, a bad certificate — is reported as a
// Result with Status [StatusFailed] and a nil error.
type Executor interface {
	Execute(ctx context.Context, step RenderedStep) (Result, error)
}

// Status is the outcome of a step.
type Status string

// Step outcomes.
const (
	StatusSucceeded Status = "succeeded"
	StatusFailed    Status = "failed"
)

// Result is the outcome of executing a step. Results never contain the
// values of secrets: ${env:NAME} values and the values of variables passed
// to exec steps through env are replaced by "[REDACTED]" in Output and in
// response excerpts.
type Result struct {
	Status  Status
	Summary string // one line for humans
	// Output is the captured output (exec: stdout and stderr interleaved;
	// http: a response body excerpt), capped. If bytes were dropped the
	// Output ends with "… N more bytes not kept" and OutputDropped is N.
	Output        string
	OutputDropped int64
	Started       time.Time
	Finished      time.Time
	// ExitCode is the process exit code for exec steps; -1 if the process
	// did not exit normally (killed, not started) or the step is not exec.
	ExitCode int
	// Details is a pointer to an action-specific struct: *ExecDetails,
	// *HTTPDetails, *TLSDetails or *HTTPCheckDetails.
	Details any
}

// Succeeded reports whether the step succeeded.
func (r Result) Succeeded() bool { return r.Status == StatusSucceeded }

// Options configure the executors built by [NewExecutors]. Zero values
// give production defaults.
type Options struct {
	// Now is the clock (TLS validity checks, timestamps). Default time.Now.
	Now func() time.Time
	// LookupEnv reads the bot's environment, for exec env allowlists and
	// ${env:NAME} secrets. Default os.LookupEnv. Only names listed in a
	// step's env (plus PATH, HOME and LANG for exec) are ever looked up.
	LookupEnv func(string) (string, bool)
	// RootCAs verifies certificates in tls_check; nil means system roots.
	RootCAs *x509.CertPool
	// WorkDir, if set, is the working directory of exec steps instead of
	// the runbook's directory.
	WorkDir string
	// HTTPClient is used by http and http_check. The default client does
	// not follow redirects (so headers carrying secrets are never sent to
	// another host) and uses the per-step timeouts. Its transport (an
	// *http.Transport; nil means http.DefaultTransport) is copied and
	// given a dialer that checks every address it connects to against the
	// step's allowed_hosts, never uses a proxy and keeps no idle
	// connections; a RoundTripper of another type is used unchecked.
	HTTPClient *http.Client
	// OutputLimit caps kept exec output; default DefaultOutputLimit (64 KiB).
	OutputLimit int
	// KillGrace bounds how long exec waits for output pipes after the
	// process exited or was killed; default 5s.
	KillGrace time.Duration
}

func (o Options) withDefaults() Options {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.LookupEnv == nil {
		o.LookupEnv = os.LookupEnv
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	o.HTTPClient = guardClient(o.HTTPClient)
	if o.OutputLimit <= 0 {
		o.OutputLimit = DefaultOutputLimit
	}
	if o.KillGrace <= 0 {
		o.KillGrace = 5 * time.Second
	}
	return o
}

// Executors maps action names to executors.
type Executors map[string]Executor

// NewExecutors returns the default executors for exec, http, tls_check and
// http_check, configured with opts.
func NewExecutors(opts Options) Executors {
	o := opts.withDefaults()
	return Executors{
		ActionExec:      &ExecExecutor{opts: o},
		ActionHTTP:      &HTTPExecutor{opts: o},
		ActionTLSCheck:  &TLSCheckExecutor{opts: o},
		ActionHTTPCheck: &HTTPCheckExecutor{opts: o},
	}
}

// Execute dispatches step to the executor for step.Action. It returns an
// error wrapping [ErrWrongAction] if none is registered; otherwise see
// [Executor].
func (e Executors) Execute(ctx context.Context, step RenderedStep) (Result, error) {
	ex, ok := e[step.Action]
	if !ok || ex == nil {
		return Result{}, fmt.Errorf("%w %q", ErrWrongAction, step.Action)
	}
	return ex.Execute(ctx, step)
}

// cappedBuffer keeps the first limit bytes written and counts the rest.
// It is safe for use as both Stdout and Stderr of one exec.Cmd (os/exec
// serialises writes when both are the same comparable writer).
type cappedBuffer struct {
	limit   int
	buf     []byte
	dropped int64
}

func (c *cappedBuffer) Write(p []byte) (int, error) {
	room := c.limit - len(c.buf)
	if room > 0 {
		n := min(room, len(p))
		c.buf = append(c.buf, p[:n]...)
		c.dropped += int64(len(p) - n)
	} else {
		c.dropped += int64(len(p))
	}
	return len(p), nil
}

// String returns the kept bytes, made safe to show (control characters
// such as terminal escapes shown as [U+001B]; see bot.SafeText), plus a
// note about dropped bytes.
func (c *cappedBuffer) String() string {
	s := bot.SafeText(string(c.buf), true)
	if c.dropped > 0 {
		if s != "" && !strings.HasSuffix(s, "\n") {
			s += "\n"
		}
		s += fmt.Sprintf("… %d more bytes not kept", c.dropped)
	}
	return s
}

func firstLine(s string, max int) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > max {
		s = s[:max] + "…"
	}
	return s
}

func wrongAction(name string, step RenderedStep) error {
	return fmt.Errorf("%w %q (this is the %s executor)", ErrWrongAction, step.Action, name)
}
