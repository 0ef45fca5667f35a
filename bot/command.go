package bot

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// Invocation is one "/incident ..." command from a person in chat.
type Invocation struct {
	Actor     string // chat user id
	ChannelID string // where it was typed; selects the incident
	// IncidentID selects the incident explicitly (the console); it wins over
	// ChannelID when set.
	IncidentID int64
	Text       string // everything after "/incident"
}

// Reply is the bot's answer to the person who typed a command.
type Reply struct {
	Text     string
	Incident Incident // the incident the command acted on, when there is one
}

// Usage lists the commands, one per line.
const Usage = "Usage: /incident <command>\n" +
	"  declare <title>                 open an incident with its own channel\n" +
	"  status <status> [message]       investigating | identified | monitoring | resolved\n" +
	"  sev <1-4>                       set the severity (1 is most severe)\n" +
	"  lead <@user>                    make someone the commander\n" +
	"  comms <@user>                   make someone the comms lead\n" +
	"  ack                             acknowledge a triggered incident\n" +
	"  note <text>                     add a note to the timeline\n" +
	"  update <text>                   post a status update (mirrored to the broadcast channel)\n" +
	"  resolve [summary]               resolve the incident\n" +
	"  timeline                        show the recorded timeline\n" +
	"  list                            list open incidents\n" +
	"  help                            this help"

// usageOf returns the one-line usage of a command, for error replies.
func usageOf(name string) string {
	for _, line := range strings.Split(Usage, "\n")[1:] {
		syntax, _, _ := strings.Cut(strings.TrimSpace(line), "  ")
		if word, _ := splitWord(syntax); word == name {
			return "Usage: /incident " + syntax
		}
	}
	return Usage
}

// Execute applies a command and returns the reply for the person who typed
// it. Bad commands come back as EINVALID errors whose message includes the
// usage line; nothing is changed.
func (s *Service) Execute(ctx context.Context, inv Invocation) (Reply, error) {
	name, rest := splitWord(inv.Text)
	name = strings.ToLower(name)
	switch name {
	case "", "help":
		return Reply{Text: Usage}, nil
	case "declare":
		return s.execDeclare(ctx, inv, rest)
	case "list":
		return s.execList(ctx)
	}
	inc, err := s.target(ctx, inv)
	if err != nil {
		return Reply{}, err
	}
	switch name {
	case "status":
		word, msg := splitWord(rest)
		st, err := ParseStatus(word)
		if err != nil || st == StatusTriggered {
			return Reply{}, usageError(name, "unknown status %q", word)
		}
		return s.replied(s.SetStatus(ctx, inv.Actor, inc.ID, st, msg))
	case "sev", "severity":
		sev, err := ParseSeverity(rest)
		if err != nil {
			return Reply{}, usageError("sev", "%q is not a severity", rest)
		}
		return s.replied(s.SetSeverity(ctx, inv.Actor, inc.ID, sev))
	case "lead", "commander":
		return s.execRole(ctx, inv, inc, RoleCommander, "lead", rest)
	case "comms":
		return s.execRole(ctx, inv, inc, RoleComms, "comms", rest)
	case "ack", "acknowledge":
		return s.replied(s.Acknowledge(ctx, inv.Actor, inc.ID))
	case "note":
		if rest == "" {
			return Reply{}, usageError(name, "a note needs text")
		}
		inc, err := s.AddNote(ctx, inv.Actor, inc.ID, rest)
		return Reply{Text: "Noted on the timeline of " + inc.Key(), Incident: inc}, err
	case "update":
		if rest == "" {
			return Reply{}, usageError(name, "a status update needs text")
		}
		return s.replied(s.PostUpdate(ctx, inv.Actor, inc.ID, rest))
	case "resolve":
		return s.replied(s.Resolve(ctx, inv.Actor, inc.ID, rest))
	case "timeline":
		events, err := s.Timeline(ctx, inc.ID)
		if err != nil {
			return Reply{}, err
		}
		return Reply{Text: FormatTimeline(inc, events), Incident: inc}, nil
	}
	return Reply{}, Errorf(EINVALID, "unknown command %q.\n%s", name, Usage)
}

func (s *Service) execDeclare(ctx context.Context, inv Invocation, rest string) (Reply, error) {
	req := DeclareRequest{Actor: inv.Actor}
	for {
		word, tail := splitWord(rest)
		switch {
		case word == "--private":
			req.Private = true
		case strings.HasPrefix(strings.ToLower(word), "--sev"):
			sev, err := ParseSeverity(strings.TrimPrefix(strings.TrimPrefix(strings.ToLower(word), "--sev"), "="))
			if err != nil {
				return Reply{}, usageError("declare", "%q is not a severity", word)
			}
			req.Severity = sev
		default:
			req.Title = rest
			if strings.TrimSpace(req.Title) == "" {
				return Reply{}, usageError("declare", "a title is required")
			}
			inc, err := s.Declare(ctx, req)
			if err != nil {
				return Reply{}, err
			}
			return Reply{Text: fmt.Sprintf("Declared %s %s: %s", inc.Key(), inc.Severity, inc.Title), Incident: inc}, nil
		}
		rest = tail
	}
}

func (s *Service) execRole(ctx context.Context, inv Invocation, inc Incident, role Role, cmd, arg string) (Reply, error) {
	user := NormalizeUser(arg)
	if user == "" || strings.ContainsAny(user, " \t") {
		return Reply{}, usageError(cmd, "name one user")
	}
	return s.replied(s.AssignRole(ctx, inv.Actor, inc.ID, role, user))
}

func (s *Service) execList(ctx context.Context) (Reply, error) {
	incs, err := s.Incidents(ctx, IncidentFilter{})
	if err != nil {
		return Reply{}, err
	}
	if len(incs) == 0 {
		return Reply{Text: "No open incidents."}, nil
	}
	var b strings.Builder
	b.WriteString("Open incidents:")
	for _, inc := range incs {
		fmt.Fprintf(&b, "\n%s %s %s: %s", inc.Key(), inc.Severity, inc.Status, inc.Title)
		if inc.ChannelName != "" {
			fmt.Fprintf(&b, " (#%s)", inc.ChannelName)
		}
	}
	return Reply{Text: b.String()}, nil
}

// target finds the incident a command applies to.
func (s *Service) target(ctx context.Context, inv Invocation) (Incident, error) {
	if inv.IncidentID != 0 {
		return s.store.Incident(ctx, inv.IncidentID)
	}
	if inv.ChannelID != "" {
		inc, err := s.store.IncidentByChannel(ctx, inv.ChannelID)
		if ErrorCode(err) != ENOTFOUND {
			return inc, err
		}
	}
	return Incident{}, Errorf(EINVALID, "this is not an incident channel: run the command in the incident's channel, or use /incident declare <title> or /incident list")
}

func (s *Service) replied(inc Incident, err error) (Reply, error) {
	if err != nil {
		return Reply{}, err
	}
	return Reply{Text: fmt.Sprintf("%s: %s, %s", inc.Key(), inc.Severity, inc.Status), Incident: inc}, nil
}

func usageError(cmd, format string, args ...any) error {
	return Errorf(EINVALID, "%s. %s", fmt.Sprintf(format, args...), usageOf(cmd))
}

func splitWord(s string) (word, rest string) {
	s = strings.TrimSpace(s)
	if i := strings.IndexAny(s, " \t\n"); i >= 0 {
		return s[:i], strings.TrimSpace(s[i+1:])
	}
	return s, ""
}

// FormatTimeline renders a timeline, one event a line: time, actor, kind,
// text.
func FormatTimeline(inc Incident, events []Event) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Timeline of %s %s: %s", inc.Key(), inc.Severity, inc.Title)
	for _, ev := range events {
		b.WriteByte('\n')
		b.WriteString(FormatEvent(ev))
	}
	return b.String()
}

// FormatEvent renders one timeline event on one line.
func FormatEvent(ev Event) string {
	return fmt.Sprintf("%s  %-22s %-17s %s", ev.OccurredAt.UTC().Format(time.DateTime), ev.Actor, ev.Kind, PlainText(oneLine(ev.Text)))
}

var mentionMarkup = regexp.MustCompile(`<([@#])([^>|]+)(?:\|([^>]*))?>`)

// PlainText turns chat mention markup ("<@U1>", "<@U1|ana>", "<#C1>") into
// plain "@U1", "@ana" and "#C1", for terminals and files.
func PlainText(s string) string {
	return mentionMarkup.ReplaceAllStringFunc(s, func(m string) string {
		parts := mentionMarkup.FindStringSubmatch(m)
		if parts[3] != "" {
			return parts[1] + parts[3]
		}
		return parts[1] + parts[2]
	})
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
