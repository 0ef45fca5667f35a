package handlers

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/sitrep-io/sitrep/bot"
)

// decodeTwoPasses is how DecodeJSON read a body before it read it once: a
// pass that refuses repeated keys (firstDuplicateKey), then encoding/json
// with a check for trailing data. It is the reference the one-pass decoder
// must agree with, and the baseline of BenchmarkDecodeJSON.
func decodeTwoPasses(body []byte, v any) error {
	dup, syntax := firstDuplicateKey(body)
	if dup != nil {
		return dup
	}
	if syntax != nil {
		return bot.FieldErrorf("body", "malformed JSON: %v", syntax)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(v); err != nil {
		return bot.FieldErrorf("body", "malformed JSON: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return bot.FieldErrorf("body", "malformed JSON: data after the JSON value")
	}
	return nil
}

// slackTeamPayload has fields without tags, as slackchat's interaction
// payload reader does: encoding/json matches them without regard to case.
type slackTeamPayload struct {
	Team       struct{ ID string }
	Enterprise *struct{ ID string } `json:"enterprise"`
	User       struct {
		TeamID string `json:"team_id"`
	} `json:"user"`
}

// decodeTargets are the types the webhooks and slackchat decode bodies into.
var decodeTargets = map[string]func() any{
	"pagerduty":    func() any { return new(pdEnvelope) },
	"alertmanager": func() any { return new(amNotification) },
	"generic":      func() any { return new(genericAlert) },
	"slack":        func() any { return new(slackTeamPayload) },
}

// What DecodeJSON accepts and refuses, and what it reads, is what
// encoding/json behind a duplicate-key check did, for every body: the
// fixtures and the seeds below, and whatever the fuzzer makes of them.
//
//	go test ./handlers -run '^$' -fuzz FuzzDecodeJSONAgreesWithEncodingJSON -fuzztime 60s
func FuzzDecodeJSONAgreesWithEncodingJSON(f *testing.F) {
	addFixtures(f, "*.json")
	for _, seed := range []string{
		`{"team":{"id":"T1"},"User":{"TEAM_ID":"T2"},"enterprise":null}`,
		`{"title":"a","Title":"b"}`,
		`{"dedupKey":"x","dedup-key":"y","dedup_key":"z"}`,
		`{"title":"caf\xe9 \ud800","labels":{"a":null,"b":"c"}}`,
		`{"alerts":[{"labels":{"a":1}}]}`,
		`{"alerts":null,"truncatedAlerts":1e2}`,
		`{"truncatedAlerts":-0,"version":"4"} `,
		`{"event":{"data":{"assignees":[{"id":"P1"},{}],"number":7}}}`,
		`[]`, `null`, `{} {}`, `{"a":1,"a":2}`, `"x"`, ` {"title":"x"}` + "\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for name, newTarget := range decodeTargets {
			got, want := newTarget(), newTarget()
			gotErr, wantErr := DecodeJSON(body, got), decodeTwoPasses(body, want)
			if gotErr != nil && wantErr == nil && repeatsANameInAnotherCase(body) {
				// Stricter on purpose: encoding/json lets the last of
				// "status" and "Status" count; DecodeJSON refuses both.
				continue
			}
			if (gotErr == nil) != (wantErr == nil) {
				t.Fatalf("%s: %q: DecodeJSON says %v, encoding/json %v", name, body, gotErr, wantErr)
			}
			if gotErr != nil {
				var be *bot.Error
				if !errors.As(gotErr, &be) || be.Code != bot.EINVALID || be.Field == "" {
					t.Fatalf("%s: %q: refusal is not a 400 naming a field: %#v", name, body, gotErr)
				}
				continue
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("%s: %q: DecodeJSON read\n%+v\nencoding/json\n%+v", name, body, got, want)
			}
		}
	})
}

// repeatsANameInAnotherCase reports whether an object of body holds two
// names that differ only in case, which encoding/json reads into one field.
func repeatsANameInAnotherCase(body []byte) bool {
	dec := jsontext.NewDecoder(bytes.NewReader(body), jsontext.AllowInvalidUTF8(true))
	var objects []map[string]bool // names seen, folded, per open object
	for {
		tok, err := dec.ReadToken()
		if err != nil {
			return false
		}
		switch tok.Kind() {
		case '{':
			objects = append(objects, map[string]bool{})
			continue
		case '}':
			objects = objects[:len(objects)-1]
			continue
		}
		if tok.Kind() == '"' && len(objects) > 0 {
			kind, length := dec.StackIndex(dec.StackDepth())
			if kind == '{' && length%2 == 1 { // the token just read is a name
				folded := strings.ToLower(tok.String())
				if objects[len(objects)-1][folded] {
					return true
				}
				objects[len(objects)-1][folded] = true
			}
		}
	}
}

// A refusal names where the body is wrong, as a sender reads its payload.
func TestDecodeJSONNamesTheField(t *testing.T) {
	for _, tt := range []struct {
		name, body, field, says string
	}{
		{"wrong type", `{"title": 5}`, "title", "must be a JSON string, not number"},
		{"wrong type in a map in an array", `{"alerts":[{"status":"firing"},{"labels":{"severity":true}}]}`, "alerts[1].labels.severity", "must be a JSON string, not boolean"},
		{"object for a number", `{"truncatedAlerts":{}}`, "truncatedAlerts", "must be a JSON number, not object"},
		{"repeated key", `{"alerts":[{"labels":{"a":"1","a":"2"}}]}`, "alerts[0].labels.a", "appears twice"},
		{"repeated field in another case", `{"status":"firing","Status":"resolved"}`, "Status", "appears twice"},
		{"trailing data", `{"version":"4"} x`, "body", "malformed JSON"},
		{"not JSON", `{"version":`, "body", "malformed JSON"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var target any = new(amNotification)
			if tt.name == "wrong type" {
				target = new(genericAlert)
			}
			err := DecodeJSON([]byte(tt.body), target)
			var be *bot.Error
			if !errors.As(err, &be) || be.Code != bot.EINVALID || be.Field != tt.field || !bytes.Contains([]byte(be.Message), []byte(tt.says)) {
				t.Fatalf("DecodeJSON(%s) = %#v, want a 400 naming %s that says %q", tt.body, err, tt.field, tt.says)
			}
		})
	}
}

// BenchmarkDecodeJSON reads the vendors' sample webhooks as a storm's
// requests are read: DecodeJSON against the two-pass reading it replaced,
// in the same run.
//
//	go test ./handlers -run '^$' -bench DecodeJSON -count 3
func BenchmarkDecodeJSON(b *testing.B) {
	for _, fx := range []struct{ name, file string }{
		{"alertmanager", "alertmanager_firing.json"},
		{"pagerduty", "pagerduty_v3_incident_triggered.json"},
	} {
		body, err := os.ReadFile(filepath.Join("testdata", fx.file))
		if err != nil {
			b.Fatal(err)
		}
		newTarget := decodeTargets[fx.name]
		for _, dec := range []struct {
			name   string
			decode func([]byte, any) error
		}{{"one_pass", DecodeJSON}, {"two_passes_baseline", decodeTwoPasses}} {
			b.Run(fx.name+"/"+dec.name, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if err := dec.decode(body, newTarget()); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
