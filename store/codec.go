package store

import (
	"encoding/json"
	"strings"
	"unicode/utf8"
)

// decodeLabels is a fast path for the labels object every incident row
// holds.
//
// Why: incidents are read inside write transactions, on the single writer
// connection every webhook queues for (an alert storm reads the incident
// once per webhook), and encoding/json's reflection took about 2.6µs for a
// PagerDuty incident's six labels, against 0.7µs here (BenchmarkCodec). It
// handles exactly the form json.Marshal of a map[string]string writes when
// no string needs an escape, and hands anything else to encoding/json, so
// the result is the same (codec_test.go checks that, and fuzzes it).

// decodeLabels decodes a labels object as json.Unmarshal into a
// map[string]string does. Without a backslash no string in it can
// hold a quote, so the object splits on quotes; anything else (escapes,
// other shapes) goes to encoding/json.
func decodeLabels(raw string) (map[string]string, error) {
	if raw == "{}" {
		return map[string]string{}, nil
	}
	if m, ok := splitLabels(raw); ok {
		return m, nil
	}
	var m map[string]string
	err := json.Unmarshal([]byte(raw), &m)
	return m, err
}

// splitLabels parses {"k":"v","k2":"v2"} with no backslash and no space.
func splitLabels(raw string) (map[string]string, bool) {
	if len(raw) < 2 || raw[0] != '{' || raw[len(raw)-1] != '}' || strings.IndexByte(raw, '\\') >= 0 {
		return nil, false
	}
	rest := raw[1 : len(raw)-1]
	m := make(map[string]string, strings.Count(rest, `":"`))
	for rest != "" {
		k, after, ok := quoted(rest)
		if !ok || after == "" || after[0] != ':' {
			return nil, false
		}
		v, after, ok := quoted(after[1:])
		if !ok {
			return nil, false
		}
		if _, dup := m[k]; dup { // json.Unmarshal keeps the last; never written by Marshal
			return nil, false
		}
		m[k] = v
		switch {
		case after == "":
			rest = ""
		case after[0] == ',' && len(after) > 1:
			rest = after[1:]
		default:
			return nil, false
		}
	}
	return m, true
}

// quoted splits a leading "string" (no escapes, no control characters)
// from s.
func quoted(s string) (string, string, bool) {
	if s == "" || s[0] != '"' {
		return "", "", false
	}
	end := strings.IndexByte(s[1:], '"')
	if end < 0 {
		return "", "", false
	}
	v := s[1 : 1+end]
	for i := range len(v) {
		if v[i] < 0x20 { // JSON forbids raw control characters: let encoding/json reject them
			return "", "", false
		}
	}
	if !utf8.ValidString(v) { // encoding/json would replace the bad bytes
		return "", "", false
	}
	return v, s[2+end:], true
}
