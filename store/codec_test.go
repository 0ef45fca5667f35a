package store

import (
	"encoding/json"
	"reflect"
	"testing"
)

// decodeLabels must agree with encoding/json, on what the store writes and
// on anything else.

func TestDecodeLabelsMatchesJSON(t *testing.T) {
	maps := []map[string]string{
		nil, {}, {"alertname": "Gateway5xx"}, {"a": "", "": "b"}, {"k:1": "v,2", "x": "{}", "y": "[\"]"},
		{"quote": `say "hi"`, "slash": `a\b`, "html": "<b>&</b>", "tab": "a\tb", "nl": "a\nb", "uni": "héllo ✓ 日本"},
		{"bad": "a\xffb", "ctl": "\x01", "ls": "\u2028"},
	}
	var inputs []string
	for _, m := range maps {
		raw, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		inputs = append(inputs, string(raw))
	}
	inputs = append(inputs, `null`, `{"a":"1","a":"2"}`, `{ "a" : "1" }`, `{"a":"1",}`, `{"a":1}`, `{"a":"1"`, `{"a":"1"}x`,
		`{"a":"1""b":"2"}`, `{"a"}`, `{"a":}`, `[]`, `{"a":"b`+"\x01"+`"}`, `{"a":"`+"\xff"+`"}`, ``, `{`, `}`, `{"":""}`)
	for _, raw := range inputs {
		checkLabels(t, raw)
	}
}

// FuzzDecodeLabels compares decodeLabels with encoding/json on any input
// (go test -fuzz FuzzDecodeLabels ./store/).
func FuzzDecodeLabels(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":"b"}`, `{"a":"b","c":"d"}`, `{"a":"\"b"}`, `{"a":"b",}`, `null`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) { checkLabels(t, raw) })
}

func checkLabels(t *testing.T, raw string) {
	t.Helper()
	got, gotErr := decodeLabels(raw)
	var want map[string]string
	wantErr := json.Unmarshal([]byte(raw), &want)
	if (gotErr != nil) != (wantErr != nil) {
		t.Errorf("decodeLabels(%q): err %v, encoding/json err %v", raw, gotErr, wantErr)
		return
	}
	if wantErr == nil && !reflect.DeepEqual(got, want) {
		t.Errorf("decodeLabels(%q) = %#v, want %#v", raw, got, want)
	}
}

// The fast path against encoding/json: go test -run '^$' -bench Codec ./store/
func BenchmarkCodec(b *testing.B) {
	raw, _ := json.Marshal(map[string]string{"alertname": "Gateway5xx", "severity": "critical", "instance": "i-42",
		"pagerduty.incident": "PLOAD004", "pagerduty.urgency": "high", "pagerduty.service": "api-gateway"})
	b.Run("decodeLabels", func(b *testing.B) {
		for b.Loop() {
			_, _ = decodeLabels(string(raw))
		}
	})
	b.Run("json.Unmarshal", func(b *testing.B) {
		for b.Loop() {
			var m map[string]string
			_ = json.Unmarshal(raw, &m)
		}
	})
}
