package bot

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Limits on the text sitrep accepts, in characters (Unicode code points).
// A text from a machine (an alert, a source's event) that is too long is
// cut, with CutMark at the end, so that no alert is lost over its length;
// a text a person typed (a note, a status update) is refused, naming the
// field, so that nothing they wrote disappears silently. Identifiers are
// refused when too long: a cut key would merge distinct ones. The README's
// Limits section lists these.
const (
	MaxTitleLen       = 250  // incident and alert titles (cut)
	MaxDescriptionLen = 4000 // alert and incident descriptions (cut)
	MaxTextLen        = 3000 // notes, status updates, status and resolve messages (refused); source events' text (cut)
	MaxLabels         = 64   // labels, and annotations, per alert (refused)
	MaxLabelKeyLen    = 128  // label and annotation names (refused)
	MaxLabelValueLen  = 1000 // label values (cut)
	MaxAnnotationLen  = 4000 // annotation values (cut)
	MaxKeyLen         = 1024 // dedup keys and event ids (refused)
	MaxSourceLen      = 64   // alert source names (refused)
	MaxURLLen         = 8192 // alert and source links (refused)
)

// CutMark ends a text that was cut to its limit.
const CutMark = "…(cut)"

// CutText returns s if it has at most max characters, else its first
// characters and CutMark, max characters in all.
func CutText(s string, max int) string {
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	keep := max - utf8.RuneCountInString(CutMark)
	n := 0
	for i := range s {
		if n == keep {
			return s[:i] + CutMark
		}
		n++
	}
	return s + CutMark // not reached: s has more than max characters
}

// SafeText makes s harmless to show in chat and on a terminal: invalid
// UTF-8 becomes U+FFFD, and control characters — C0 (but tab and, when
// multiline, newline), DEL, C1, and the invisible bidirectional and
// zero-width formatting characters (U+202E RIGHT-TO-LEFT OVERRIDE makes
// "exe.txt" look like "txt.exe") — are shown as a visible [U+XXXX].
// A carriage return, and a newline in a one-line text, become a space.
func SafeText(s string, multiline bool) string {
	if !needsSafe(s, multiline) {
		return s
	}
	s = strings.ToValidUTF8(s, "\uFFFD")
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		switch {
		case r == '\t':
			b.WriteRune(r)
		case r == '\n' && multiline:
			b.WriteRune(r)
		case r == '\n' || r == '\r':
			b.WriteByte(' ')
		case unsafeRune(r):
			fmt.Fprintf(&b, "[U+%04X]", r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// HasUnsafeText reports whether SafeText would change s as a one-line
// text: it holds invalid UTF-8, a line break or a control or invisible
// formatting character. Values that are shown for approval (runbook
// parameters) are refused rather than rewritten when it does.
func HasUnsafeText(s string) bool { return needsSafe(s, false) }

// CheckTypedText is the check of a text a person typed, for adapters and
// packages outside bot: trimmed, made safe, refused naming field when over
// max characters.
func CheckTypedText(field, what, s string, max int) (string, error) {
	return typedText(field, what, s, max, true)
}

func needsSafe(s string, multiline bool) bool {
	if !utf8.ValidString(s) {
		return true
	}
	for _, r := range s {
		if (r == '\n' && !multiline) || r == '\r' || (r != '\t' && r != '\n' && unsafeRune(r)) {
			return true
		}
	}
	return false
}

// unsafeRune: control characters and invisible formatting characters that
// change how the text around them is displayed.
func unsafeRune(r rune) bool {
	switch {
	case r < 0x20, r == 0x7f, r >= 0x80 && r <= 0x9f: // C0, DEL, C1
		return true
	case r == 0x061c, r == 0x200e, r == 0x200f, // Arabic letter mark, LRM, RLM
		r >= 0x202a && r <= 0x202e,                         // LRE, RLE, PDF, LRO, RLO
		r >= 0x2066 && r <= 0x2069,                         // LRI, RLI, FSI, PDI
		r == 0x200b, r == 0x2028, r == 0x2029, r == 0xfeff: // zero-width space, line/paragraph separators, BOM
		return true
	}
	return false
}

// cleanLine is a one-line machine text made safe and cut to max.
func cleanLine(s string, max int) string { return CutText(SafeText(strings.TrimSpace(s), false), max) }

// cleanBlock is a multi-line machine text made safe and cut to max.
func cleanBlock(s string, max int) string { return CutText(SafeText(s, true), max) }

// typedText checks a text a person typed: trimmed, made safe, and refused
// (naming field) when over max, saying what to do.
func typedText(field, what, s string, max int, multiline bool) (string, error) {
	s = SafeText(strings.TrimSpace(s), multiline)
	if n := utf8.RuneCountInString(s); n > max {
		return "", FieldErrorf(field, "%s is at most %d characters (this one has %d): shorten it, or split it in several", what, max, n)
	}
	return s, nil
}

// checkAlertBounds makes an alert's texts safe and cuts them to their
// limits; it refuses identifiers, links and label sets over theirs.
func checkAlertBounds(a *Alert) error {
	if n := utf8.RuneCountInString(a.Source); n > MaxSourceLen {
		return FieldErrorf("source", "at most %d characters (got %d)", MaxSourceLen, n)
	}
	if n := utf8.RuneCountInString(a.DedupKey); n > MaxKeyLen {
		return FieldErrorf("dedup_key", "at most %d characters (got %d)", MaxKeyLen, n)
	}
	if n := utf8.RuneCountInString(a.EventID); n > MaxKeyLen {
		return FieldErrorf("event_id", "at most %d characters (got %d)", MaxKeyLen, n)
	}
	if n := len(a.URL); n > MaxURLLen {
		return FieldErrorf("url", "at most %d bytes (got %d)", MaxURLLen, n)
	}
	a.URL = SafeText(a.URL, false)
	a.Title = cleanLine(a.Title, MaxTitleLen)
	a.Description = cleanBlock(a.Description, MaxDescriptionLen)
	var err error
	if a.Labels, err = boundedMap("labels", a.Labels, MaxLabelValueLen, false); err != nil {
		return err
	}
	a.Annotations, err = boundedMap("annotations", a.Annotations, MaxAnnotationLen, true)
	return err
}

func boundedMap(field string, m map[string]string, maxValue int, multiline bool) (map[string]string, error) {
	if len(m) == 0 {
		return m, nil
	}
	if len(m) > MaxLabels {
		return nil, FieldErrorf(field, "at most %d entries (got %d)", MaxLabels, len(m))
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		if n := utf8.RuneCountInString(k); n > MaxLabelKeyLen {
			return nil, FieldErrorf(field, "a name is at most %d characters (got one of %d)", MaxLabelKeyLen, n)
		}
		sk := SafeText(k, false)
		if multiline {
			out[sk] = cleanBlock(v, maxValue)
		} else {
			out[sk] = cleanLine(v, maxValue)
		}
	}
	return out, nil
}
