package handlers

import (
	"bytes"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"time"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	jsonv1 "github.com/go-json-experiment/json/v1"
	"github.com/sitrep-io/sitrep/bot"
)

// DecodeJSON is the one JSON decoder of the webhooks: body must be exactly
// one JSON value, with no key repeated in any object (which of two values
// would count is an accident of the decoder; a signature checked over one
// reading and a body acted on in another must not disagree), decoded into
// v. Every error is a 400 naming "body", the repeated key, or the field
// whose value has the wrong type (alerts[0].labels.severity).
//
// It reads body once, with the json/v2 prototype, which refuses repeated
// names and trailing data by itself; decodeOptions make it read what
// encoding/json would (FuzzDecodeJSONAgreesWithEncodingJSON). Checking
// duplicates in a pass of its own before encoding/json cost half of a
// webhook's decoding in an alert storm (BenchmarkDecodeJSON).
func DecodeJSON(body []byte, v any) error {
	err := jsonv2.Unmarshal(body, v, decodeOptions)
	if err == nil {
		return nil
	}
	if errors.Is(err, jsontext.ErrDuplicateName) {
		return bot.FieldErrorf(fieldPath(errorPointer(err)), "appears twice in one object: send each key once")
	}
	var se *jsonv2.SemanticError
	if errors.As(err, &se) && se.GoType != nil && se.JSONKind != 0 && len(se.JSONPointer) > 0 {
		return bot.FieldErrorf(fieldPath(se.JSONPointer), "must be a JSON %s, not %s", jsonKindOf(se.GoType), jsonKindName(se.JSONKind))
	}
	return bot.FieldErrorf("body", "malformed JSON: %v", err)
}

// decodeOptions read JSON as encoding/json does, less its tolerance of
// repeated keys: invalid UTF-8 becomes U+FFFD, and names match fields
// without regard to case (a field ID reads "id") but with regard to
// underscores and dashes ("dedup_key" is not "dedupKey").
var decodeOptions = jsonv2.JoinOptions(
	jsontext.AllowInvalidUTF8(true),
	jsonv2.MatchCaseInsensitiveNames(true),
	jsonv1.MatchCaseSensitiveDelimiter(true),
)

// errorPointer is where in the body a decoding error happened.
func errorPointer(err error) jsontext.Pointer {
	var syn *jsontext.SyntacticError
	if errors.As(err, &syn) {
		return syn.JSONPointer
	}
	var se *jsonv2.SemanticError
	if errors.As(err, &se) {
		return se.JSONPointer
	}
	return ""
}

// jsonKindName names what a body holds where a field was expected.
func jsonKindName(k jsontext.Kind) string {
	switch k {
	case '{':
		return "object"
	case '[':
		return "array"
	case 't', 'f':
		return "boolean"
	}
	return k.String() // null, string, number
}

// jsonKindOf names the JSON a Go type is read from, for an error that says
// what a field must be.
func jsonKindOf(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Slice, reflect.Array:
		return "array"
	case reflect.Map, reflect.Struct:
		return "object"
	case reflect.Pointer:
		return jsonKindOf(t.Elem())
	}
	return t.Kind().String()
}

// firstDuplicateKey reads body's first JSON value and returns a 400 naming
// the first key an object repeats, or the syntax error that stopped it
// (for a caller whose own decoder reports malformed JSON).
func firstDuplicateKey(body []byte) (dup, syntax error) {
	dec := jsontext.NewDecoder(bytes.NewReader(body), jsontext.AllowInvalidUTF8(true)) // as encoding/json: invalid bytes become U+FFFD
	err := dec.SkipValue()
	if err == nil {
		return nil, nil
	}
	var se *jsontext.SyntacticError
	if errors.As(err, &se) && errors.Is(se.Err, jsontext.ErrDuplicateName) {
		return bot.FieldErrorf(fieldPath(se.JSONPointer), "appears twice in one object: send each key once"), nil
	}
	return nil, err
}

// fieldPath writes a JSON pointer (/alerts/0/labels/severity) as the
// webhooks name fields: alerts[0].labels.severity. A token of digits is
// taken for an array index.
func fieldPath(p jsontext.Pointer) string {
	var b strings.Builder
	for tok := range p.Tokens() {
		if _, err := strconv.Atoi(tok); err == nil && b.Len() > 0 {
			b.WriteString("[" + tok + "]")
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		if tok == "" {
			tok = `""` // still a name the error can point at
		}
		b.WriteString(tok)
	}
	return b.String()
}

// Times a source may report: from bot.EarliestPlausibleTime (2000) to a
// day ahead of sitrep's clock. Beyond that a time is impossible, not a
// skewed clock (a time up to a day ahead is clamped to now by the domain,
// see bot.SourceEvent).
const latestSourceTimeAhead = 24 * time.Hour

// parseSourceTime parses an RFC 3339 time a source reported and refuses an
// impossible one, naming field.
func parseSourceTime(field, s string, now time.Time) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, bot.FieldErrorf(field, "%q is not an RFC 3339 time (e.g. 2020-10-08T00:06:00Z)", s)
	}
	if t.Before(bot.EarliestPlausibleTime) || t.After(now.Add(latestSourceTimeAhead)) {
		return time.Time{}, bot.FieldErrorf(field, "%s is not a plausible time: it must be between %s and a day from now",
			s, bot.EarliestPlausibleTime.Format(time.RFC3339))
	}
	return t.UTC(), nil
}

// domainNow is the domain's clock when the ingester has one (the
// *bot.Service does: its clock is the one the clamp of source times uses),
// else time.Now.
func domainNow(ingester any) time.Time {
	if c, ok := ingester.(interface{ Now() time.Time }); ok {
		return c.Now()
	}
	return time.Now()
}
