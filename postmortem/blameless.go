package postmortem

import (
	"cmp"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Finding is one phrase of blame language in text the bot wrote.
type Finding struct {
	Phrase string // as written, e.g. "Should have"
	Rule   string // "counterfactual", "judgement" or "animated"
	Line   int    // 1-based
	Column int    // 1-based, in bytes
	Hint   string // what to write instead
}

func (f Finding) String() string {
	return fmt.Sprintf("%q (%s, line %d)", f.Phrase, f.Rule, f.Line)
}

// blameRules are POSTMORTEM.md's "blameless language" list, with the
// obvious variants. Each says what to write instead.
var blameRules = []struct {
	rule, hint string
	re         *regexp.Regexp
}{
	{"counterfactual", "describe what happened and what people knew at the time",
		regexp.MustCompile(`(?i)\b(?:should(?:n't| not)?|could(?:n't| not)?|would(?:n't| not)?|ought to) have\b`)},
	{"counterfactual", `say what happened ("did not", "returned an error")`,
		regexp.MustCompile(`(?i)\bfail(?:ed|s|ing)? to\b`)},
	{"judgement", "describe the conditions that made the action reasonable at the time",
		regexp.MustCompile(`(?i)\b(?:human error|careless(?:ly|ness)?|negligen(?:t|ce)|sloppy|reckless(?:ly)?|incompeten(?:t|ce)|stupid)\b`)},
	{"judgement", "drop the word: what is obvious afterwards was not at the time",
		regexp.MustCompile(`(?i)\b(?:obviously|obvious|simply|clearly|just had to)\b`)},
	{"animated", "use neutral words: state the impact in numbers",
		regexp.MustCompile(`(?i)\b(?:disaster(?:s|ous)?|catastroph(?:e|ic)|fiasco|nightmare|meltdown)\b`)},
	{"animated", "one full stop is enough",
		regexp.MustCompile(`!!+`)},
}

// CheckBlameless finds blame language in Markdown text the bot wrote:
// counterfactuals ("should have", "failed to", "could have"), judgements
// ("human error", "careless", "obviously", "simply") and animated words
// ("disaster", "!!"). Quoted material is left as written and not checked:
// block quotes ("> …"), fenced code blocks, inline code spans and text in
// curly “…” or straight "…" quotes on one line. It returns the findings in
// order; none for clean text.
func CheckBlameless(text string) []Finding {
	var out []Finding
	fenced := false
	for i, line := range strings.Split(text, "\n") {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "```") || strings.HasPrefix(trimmed, "~~~") {
			fenced = !fenced
			continue
		}
		if fenced || strings.HasPrefix(trimmed, ">") {
			continue
		}
		masked := maskQuotes(line)
		for _, r := range blameRules {
			for _, loc := range r.re.FindAllStringIndex(masked, -1) {
				out = append(out, Finding{Phrase: line[loc[0]:loc[1]], Rule: r.rule, Line: i + 1, Column: loc[0] + 1, Hint: r.hint})
			}
		}
	}
	slices.SortStableFunc(out, func(a, b Finding) int {
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column))
	})
	return out
}

// quoteSpans match quoted material on one line: code spans, curly quotes
// and straight double quotes.
var quoteSpans = regexp.MustCompile("`[^`]*`|“[^”]*”|\"[^\"]*\"")

// maskQuotes blanks quoted spans, keeping byte offsets.
func maskQuotes(line string) string {
	return quoteSpans.ReplaceAllStringFunc(line, func(m string) string { return strings.Repeat(" ", len(m)) })
}
