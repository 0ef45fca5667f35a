package handlers

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/sitrep-io/sitrep/bot"
)

// DecodeJSON is the one JSON decoder of the webhooks: body must be exactly
// one JSON value, with no key repeated in any object (which of two values
// would count is an accident of the decoder; a signature checked over one
// reading and a body acted on in another must not disagree), decoded into
// v. Every error is a 400 naming "body", or the repeated key.
func DecodeJSON(body []byte, v any) error {
	if err := checkNoDuplicateKeys(body); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return bot.FieldErrorf(te.Field, "must be a JSON %s, not %s", te.Type.Kind(), te.Value)
		}
		return bot.FieldErrorf("body", "malformed JSON: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return bot.FieldErrorf("body", "malformed JSON: data after the JSON value at byte %d", dec.InputOffset())
	}
	return nil
}

// checkNoDuplicateKeys refuses an object that repeats a key, naming its
// path (alerts[0].labels.severity). It reads body once with jsontext (the
// json/v2 prototype's tokenizer, which refuses duplicate names by itself):
// walking encoding/json's Token stream cost a fifth of a webhook's CPU in an
// alert storm.
func checkNoDuplicateKeys(body []byte) error {
	dup, syntax := firstDuplicateKey(body)
	if dup != nil {
		return dup
	}
	if syntax != nil {
		return bot.FieldErrorf("body", "malformed JSON: %v", syntax)
	}
	return nil // what follows the value is DecodeJSON's to refuse
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
