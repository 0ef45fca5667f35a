package runbooks

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"net/url"
	"strings"
	"testing"
	"time"
)

// A command (or an endpoint) that prints a secret it was given in an
// encoded form must not get it past the redaction: every common encoding
// of the value, and base64 of a longer text containing it, is redacted.
func TestRedactionCoversEncodedSecrets(t *testing.T) {
	const secret = "p@ss w/rd+tok=en?&é~"
	t.Setenv("SITREP_TEST_TOKEN", secret)
	leaks := map[string]string{
		"plain":          secret,
		"base64":         base64.StdEncoding.EncodeToString([]byte(secret)),
		"base64url":      base64.URLEncoding.EncodeToString([]byte(secret)),
		"base64raw":      base64.RawStdEncoding.EncodeToString([]byte(secret)),
		"base64rawurl":   base64.RawURLEncoding.EncodeToString([]byte(secret)),
		"query-escaped":  url.QueryEscape(secret),
		"path-escaped":   url.PathEscape(secret),
		"hex":            hex.EncodeToString([]byte(secret)),
		"HEX":            strings.ToUpper(hex.EncodeToString([]byte(secret))),
		"basic-auth":     base64.StdEncoding.EncodeToString([]byte("sitrep:" + secret)),
		"offset-1":       base64.StdEncoding.EncodeToString([]byte("x" + secret + "tail")),
		"offset-2-url":   base64.RawURLEncoding.EncodeToString([]byte("xy" + secret + "t")),
		"embedded-query": "https://x.example/?a=1&token=" + url.QueryEscape(secret) + "&b=2",
	}
	dir := t.TempDir()
	var script strings.Builder
	for name, form := range leaks {
		script.WriteString("echo '" + name + "=" + form + "'\n")
	}
	writeScript(t, dir, "leak.sh", script.String())
	st := execStep(time.Minute, []string{"SITREP_TEST_TOKEN"}, "./leak.sh")
	st.Exec.Dir = dir
	res, err := NewExecExecutor(Options{}).Execute(context.Background(), st)
	if err != nil || !res.Succeeded() {
		t.Fatalf("%v %+v", err, res)
	}
	for name, form := range leaks {
		if !strings.Contains(res.Output, name+"=") {
			t.Errorf("%s: line missing from output %q", name, res.Output)
		}
		// What is left of a base64 form around the redaction (at most two
		// characters either side) carries a few bits, not the secret.
		if strings.Contains(res.Output, form) {
			t.Errorf("%s form %q not redacted: %s", name, form, res.Output)
		}
	}
	if n := strings.Count(res.Output, redacted); n < len(leaks) {
		t.Errorf("%d redactions for %d leaks: %s", n, len(leaks), res.Output)
	}
}

// Redaction must not eat text that merely shares a character or two with
// a secret.
func TestRedactionLeavesOtherTextAlone(t *testing.T) {
	r := redactor{"hunter2-token"}
	for _, s := range []string{"status ok", "hunter", "aHVudGVy", "68756e746572"} {
		if got := r.apply(s); got != s {
			t.Errorf("apply(%q) = %q", s, got)
		}
	}
}

// A command's output reaches chat: terminal escapes and bidi overrides in
// it are shown, not obeyed.
func TestExecOutputShowsControlCharactersHarmlessly(t *testing.T) {
	dir := t.TempDir()
	writeScript(t, dir, "colour.sh", `printf '\033[31mred\342\200\256txt.exe\n\tok\n'`+"\n")
	st := execStep(time.Minute, nil, "./colour.sh")
	st.Exec.Dir = dir
	res, err := NewExecExecutor(Options{}).Execute(context.Background(), st)
	if err != nil || !res.Succeeded() {
		t.Fatalf("%v %+v", err, res)
	}
	if want := "[U+001B][31mred[U+202E]txt.exe\n\tok\n"; res.Output != want {
		t.Errorf("output %q, want %q", res.Output, want)
	}
}
