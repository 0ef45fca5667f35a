package handlers

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"time"

	"github.com/sitrep-io/sitrep/bot"
)

// decodeJSON is the one JSON decoder of the webhooks: body must be exactly
// one JSON value, with no key repeated in any object (which of two values
// would count is an accident of the decoder; a signature checked over one
// reading and a body acted on in another must not disagree), decoded into
// v. Every error is a 400 naming "body", or the repeated key.
func decodeJSON(body []byte, v any) error {
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

// checkNoDuplicateKeys walks body's tokens and refuses an object that
// repeats a key, naming its path (alerts[0].labels.severity).
func checkNoDuplicateKeys(body []byte) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var walk func(path string) error
	walk = func(path string) error {
		tok, err := dec.Token()
		if err != nil {
			return bot.FieldErrorf("body", "malformed JSON: %v", err)
		}
		switch tok {
		case json.Delim('{'):
			seen := map[string]bool{}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return bot.FieldErrorf("body", "malformed JSON: %v", err)
				}
				key, _ := kt.(string)
				child := key
				if key == "" {
					child = `""` // still a name the error can point at
				}
				if path != "" {
					child = path + "." + child
				}
				if seen[key] {
					return bot.FieldErrorf(child, "appears twice in one object: send each key once")
				}
				seen[key] = true
				if err := walk(child); err != nil {
					return err
				}
			}
			_, err = dec.Token() // '}'
		case json.Delim('['):
			for i := 0; dec.More(); i++ {
				if err := walk(path + "[" + strconv.Itoa(i) + "]"); err != nil {
					return err
				}
			}
			_, err = dec.Token() // ']'
		}
		if err != nil {
			return bot.FieldErrorf("body", "malformed JSON: %v", err)
		}
		return nil
	}
	return walk("")
}

// Times a source may report: from the year 2000 to a day ahead of sitrep's
// clock. Beyond that a time is impossible, not a skewed clock (a time up
// to a day ahead is clamped to now by the domain, see bot.SourceEvent).
var earliestSourceTime = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

const latestSourceTimeAhead = 24 * time.Hour

// parseSourceTime parses an RFC 3339 time a source reported and refuses an
// impossible one, naming field.
func parseSourceTime(field, s string, now time.Time) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, bot.FieldErrorf(field, "%q is not an RFC 3339 time (e.g. 2020-10-08T00:06:00Z)", s)
	}
	if t.Before(earliestSourceTime) || t.After(now.Add(latestSourceTimeAhead)) {
		return time.Time{}, bot.FieldErrorf(field, "%s is not a plausible time: it must be between %s and a day from now",
			s, earliestSourceTime.Format(time.RFC3339))
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
