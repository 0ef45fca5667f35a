package console

import (
	"bufio"
	"context"
	"io"
	"strings"

	"github.com/sitrep-io/sitrep/bot"
)

// Executor runs "/incident" commands; *bot.Service is one.
type Executor interface {
	Execute(ctx context.Context, inv bot.Invocation) (bot.Reply, error)
	Incidents(ctx context.Context, f bot.IncidentFilter) ([]bot.Incident, error)
}

// REPL reads "/incident ..." commands, one a line, and answers them. A
// command applies to the incident the user worked on last (or the one just
// declared, or else the newest open one); "INC-<n>" before the command picks
// another.
type REPL struct {
	Exec    Executor
	Out     *Chat
	User    string // the local user's name, the actor of every command
	current int64
	// next reads the next line typed, for a form's prompts (form.go); nil
	// outside Run.
	next func() (string, bool)
}

// Run reads commands from in until it ends or ctx is done.
func (r *REPL) Run(ctx context.Context, in io.Reader) error {
	lines := make(chan string)
	errc := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(in)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			case <-ctx.Done():
				return
			}
		}
		errc <- sc.Err()
		close(lines)
	}()
	r.next = func() (string, bool) {
		select {
		case line, ok := <-lines:
			return line, ok
		case <-ctx.Done():
			return "", false
		}
	}
	defer func() { r.next = nil }()
	r.Out.Printf("Type /incident help for commands.\n")
	for {
		select {
		case <-ctx.Done():
			return nil
		case line, ok := <-lines:
			if !ok {
				return <-errc
			}
			r.Handle(ctx, line)
		}
	}
}

// Handle answers one line of input.
func (r *REPL) Handle(ctx context.Context, line string) {
	text := strings.TrimSpace(line)
	if text == "" {
		return
	}
	text = strings.TrimSpace(strings.TrimPrefix(text, "/incident"))
	if r.current == 0 {
		if open, err := r.Exec.Incidents(ctx, bot.IncidentFilter{Limit: 1}); err == nil && len(open) > 0 {
			r.current = open[0].ID
		}
	}
	// "declare" without a title asks the declare form's fields, when
	// there is a terminal to answer them.
	if preset, ok := bot.DeclareFormRequest(text); ok && r.next != nil {
		if d, ok := r.Exec.(Declarer); ok {
			r.declareByForm(ctx, d, preset)
			return
		}
	}
	inv := bot.Invocation{Actor: r.User, IncidentID: r.current, Text: text}
	if word, rest, _ := strings.Cut(text, " "); strings.HasPrefix(strings.ToUpper(word), "INC-") {
		id, err := bot.ParseIncidentKey(word)
		if err != nil {
			r.Out.Printf("! %s\n", bot.PlainText(bot.ErrorMessage(err)))
			return
		}
		inv.IncidentID, inv.Text = id, rest
	}
	reply, err := r.Exec.Execute(ctx, inv)
	if err != nil {
		r.Out.Printf("! %s\n", bot.PlainText(bot.ErrorMessage(err)))
		return
	}
	if reply.Incident.ID != 0 {
		r.current = reply.Incident.ID
	}
	r.Out.Printf("%s\n", indentLines(bot.PlainText(reply.Text)))
}

func indentLines(s string) string {
	return "> " + strings.ReplaceAll(s, "\n", "\n> ")
}
