package runbooks

import (
	"encoding/base64"
	"encoding/hex"
	"net/url"
	"sort"
	"strings"
)

// redactor replaces the secrets a step was given, and their common
// encodings, in text that leaves the executor (output, summaries).
type redactor []string

// redacted replaces every secret and encoded secret.
const redacted = "[REDACTED]"

// minSecretLen: very short values would redact noise and leak little;
// anything of 3+ bytes is redacted.
const minSecretLen = 3

// minEncodedLen is the shortest encoded fragment redacted: a shorter
// base64 fragment matches ordinary text too often to be worth it.
const minEncodedLen = 4

func (r redactor) apply(s string) string {
	for _, v := range r.forms() {
		s = strings.ReplaceAll(s, v, redacted)
	}
	return s
}

// forms returns every string to redact, longest first so that a longer
// form is replaced before a shorter form inside it could break it up.
func (r redactor) forms() []string {
	seen := map[string]bool{}
	var out []string
	add := func(f string, min int) {
		if len(f) >= min && !seen[f] {
			seen[f] = true
			out = append(out, f)
		}
	}
	for _, v := range r {
		if len(v) < minSecretLen {
			continue
		}
		add(v, minSecretLen)
		for _, f := range encodedForms(v) {
			add(f, minEncodedLen)
		}
	}
	sort.Slice(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
	return out
}

// encodedForms are the encodings of secret that a response or a command's
// output commonly carries: URL query and path escaping, hex in either
// case, and base64 in the standard and URL alphabets, padded or not.
//
// Base64 of a longer text that contains the secret (an HTTP Basic
// credential "user:secret", a JSON blob) does not contain the base64 of
// the secret itself: it depends on the secret's offset modulo 3. For each
// of the three offsets the characters that encode only the secret's bits
// are the same whatever surrounds it, so those are redacted too.
func encodedForms(secret string) []string {
	forms := []string{
		url.QueryEscape(secret), url.PathEscape(secret),
		hex.EncodeToString([]byte(secret)), strings.ToUpper(hex.EncodeToString([]byte(secret))),
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding} {
		forms = append(forms, enc.EncodeToString([]byte(secret)))
		raw := enc.WithPadding(base64.NoPadding)
		for offset := 0; offset < 3; offset++ {
			b := append(make([]byte, offset), secret...)
			e := raw.EncodeToString(b)
			// Character i carries bits [6i, 6i+6): keep those entirely
			// within the secret's bits [8·offset, 8·len(b)).
			first := (8*offset + 5) / 6
			last := 8 * len(b) / 6
			if first < last {
				forms = append(forms, e[first:last])
			}
		}
	}
	return forms
}
