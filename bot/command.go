package bot

import (
	"context"
	"fmt"
	"regexp"
	"slices"
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

// Reply is the bot's answer to the person who typed a command or clicked a
// button.
type Reply struct {
	Text     string
	Public   bool     // show it to the whole channel, not only to the person
	Message  *Message // a richer answer (buttons) where the chat can show one
	Incident Incident // the incident the command acted on, when there is one
	// Redraw, set by a button's action, is what the message carrying the
	// button becomes (without its buttons, once a choice is made), in a
	// chat that can edit it.
	Redraw *Message
}

// Command is one "/incident" subcommand. Features register theirs with
// Registry.Command, so the grammar stays in one table.
type Command struct {
	Name    string
	Aliases []string
	Syntax  string // arguments, e.g. "<status> [message]"
	Help    string
	// Anywhere: the command works outside an incident channel; otherwise the
	// incident is found first and handed to Run.
	Anywhere bool
	Run      func(ctx context.Context, inv Invocation, inc Incident, args string) (Reply, error)
}

// registerCommand adds a subcommand, or replaces the one of that name
// where it stands in the list (Registry.Command).
func (s *Service) registerCommand(c Command) {
	if i := slices.IndexFunc(s.commands, func(o Command) bool { return o.Name == c.Name }); i >= 0 {
		s.commands[i] = c
		return
	}
	s.commands = append(s.commands, c)
}

func (s *Service) command(name string) (Command, bool) {
	for _, c := range s.commands {
		if c.Name == name || slices.Contains(c.Aliases, name) {
			return c, true
		}
	}
	return Command{}, false
}

// Usage lists the commands, one per line, in registration order.
func (s *Service) Usage() string {
	var b strings.Builder
	b.WriteString("Usage: /incident <command>")
	for _, c := range s.commands {
		fmt.Fprintf(&b, "\n  %-32s %s", strings.TrimSpace(c.Name+" "+c.Syntax), c.Help)
	}
	return b.String()
}

// usageOf returns the one-line usage of a command, for error replies.
func (s *Service) usageOf(name string) string {
	if c, ok := s.command(name); ok {
		return "Usage: /incident " + strings.TrimSpace(c.Name+" "+c.Syntax)
	}
	return s.Usage()
}

// UsageError is an EINVALID error carrying the command's usage line.
func (s *Service) UsageError(cmd, format string, args ...any) error {
	return Errorf(EINVALID, "%s. %s", fmt.Sprintf(format, args...), s.usageOf(cmd))
}

// Execute applies a command and returns the reply for the person who typed
// it. Bad commands come back as EINVALID errors whose message includes the
// usage line; nothing is changed.
func (s *Service) Execute(ctx context.Context, inv Invocation) (Reply, error) {
	name, rest := splitWord(inv.Text)
	name = strings.ToLower(name)
	if name == "" {
		name = "help"
	}
	c, ok := s.command(name)
	if !ok {
		return Reply{}, Errorf(EINVALID, "unknown command %q.\n%s", name, s.Usage())
	}
	var inc Incident
	if !c.Anywhere {
		var err error
		if inc, err = s.target(ctx, inv); err != nil {
			return Reply{}, err
		}
		if err := s.Visible(ctx, inv.Actor, inc, "/incident "+c.Name); err != nil {
			return Reply{}, err
		}
	}
	return c.Run(ctx, inv, inc, rest)
}

// coreCommands is the incident grammar every chat gets.
func (s *Service) coreCommands() []Command {
	return []Command{
		{Name: "declare", Syntax: "[--private] [--sev<1-4>] <title>", Help: "open an incident with its own channel", Anywhere: true,
			Run: func(ctx context.Context, inv Invocation, _ Incident, args string) (Reply, error) {
				return s.execDeclare(ctx, inv, args)
			}},
		{Name: "status", Syntax: "<status> [message]", Help: "investigating | identified | monitoring | resolved",
			Run: func(ctx context.Context, inv Invocation, inc Incident, args string) (Reply, error) {
				word, msg := splitWord(args)
				st, err := ParseStatus(word)
				if err != nil || st == StatusTriggered {
					return Reply{}, s.UsageError("status", "unknown status %q", word)
				}
				return s.replied(s.SetStatus(ctx, inv.Actor, inc.ID, st, msg))
			}},
		{Name: "sev", Aliases: []string{"severity"}, Syntax: "<1-4>", Help: "set the severity (1 is most severe)",
			Run: func(ctx context.Context, inv Invocation, inc Incident, args string) (Reply, error) {
				sev, err := ParseSeverity(args)
				if err != nil {
					return Reply{}, s.UsageError("sev", "%q is not a severity", args)
				}
				return s.replied(s.SetSeverity(ctx, inv.Actor, inc.ID, sev))
			}},
		{Name: "lead", Aliases: []string{"commander"}, Syntax: "<@user>", Help: "make someone the commander",
			Run: func(ctx context.Context, inv Invocation, inc Incident, args string) (Reply, error) {
				return s.execRole(ctx, inv, inc, RoleCommander, "lead", args)
			}},
		{Name: "comms", Syntax: "<@user>", Help: "make someone the comms lead",
			Run: func(ctx context.Context, inv Invocation, inc Incident, args string) (Reply, error) {
				return s.execRole(ctx, inv, inc, RoleComms, "comms", args)
			}},
		{Name: "ack", Aliases: []string{"acknowledge"}, Help: "acknowledge a triggered incident",
			Run: func(ctx context.Context, inv Invocation, inc Incident, _ string) (Reply, error) {
				return s.replied(s.Acknowledge(ctx, inv.Actor, inc.ID))
			}},
		{Name: "note", Syntax: "[--update | --next] <text>", Help: "add a note to the timeline (--update: quote it in the next update's draft; --next: what is being done next)",
			Run: func(ctx context.Context, inv Invocation, inc Incident, args string) (Reply, error) {
				mark, said := "", "Noted on the timeline of "+inc.Key()
				switch word, rest := splitWord(args); strings.ToLower(word) {
				case "--update":
					mark, args, said = NoteForUpdate, rest, said+"; it goes in the next status update's draft"
				case "--next":
					mark, args, said = NoteNext, rest, said+"; the next status update's draft says it is next"
				}
				if args == "" {
					return Reply{}, s.UsageError("note", "a note needs text")
				}
				inc, err := s.AddMarkedNote(ctx, inv.Actor, inc.ID, args, mark)
				if err != nil {
					return Reply{}, err
				}
				return Reply{Text: said, Incident: inc}, nil
			}},
		{Name: "update", Syntax: "[--next <30m|HH:MM>] [--anyway] [text]", Help: "post a status update (mirrored to the broadcast channel); without text: a draft from the timeline",
			Run: s.execUpdate},
		{Name: "resolve", Syntax: "[summary]", Help: "resolve the incident",
			Run: func(ctx context.Context, inv Invocation, inc Incident, args string) (Reply, error) {
				return s.replied(s.Resolve(ctx, inv.Actor, inc.ID, args))
			}},
		{Name: "timeline", Help: "show the timeline, repeated alerts collapsed (newest entries when it is long)",
			Run: func(ctx context.Context, _ Invocation, inc Incident, _ string) (Reply, error) {
				events, err := s.Timeline(ctx, inc.ID)
				if err != nil {
					return Reply{}, err
				}
				return Reply{Text: FormatTimelineCollapsed(inc, events, TimelineReplyBudget), Incident: inc}, nil
			}},
		{Name: "list", Help: "list open incidents", Anywhere: true,
			Run: func(ctx context.Context, inv Invocation, _ Incident, _ string) (Reply, error) {
				return s.execList(ctx, inv.Actor)
			}},
		{Name: "help", Help: "this help", Anywhere: true,
			Run: func(context.Context, Invocation, Incident, string) (Reply, error) { return Reply{Text: s.Usage()}, nil }},
	}
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
				return Reply{}, s.UsageError("declare", "%q is not a severity", word)
			}
			req.Severity = sev
		default:
			req.Title = rest
			if strings.TrimSpace(req.Title) == "" {
				return Reply{}, s.UsageError("declare", "a title is required")
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
		return Reply{}, s.UsageError(cmd, "name one user")
	}
	return s.replied(s.AssignRole(ctx, inv.Actor, inc.ID, role, user))
}

// execList lists the open incidents actor may see: a private incident is
// left out for anyone not in its channel.
func (s *Service) execList(ctx context.Context, actor string) (Reply, error) {
	incs, err := s.Incidents(ctx, IncidentFilter{})
	if err != nil {
		return Reply{}, err
	}
	if incs, err = s.visibleIncidents(ctx, actor, incs); err != nil {
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

func splitWord(s string) (word, rest string) {
	s = strings.TrimSpace(s)
	if i := strings.IndexAny(s, " \t\n"); i >= 0 {
		return s[:i], strings.TrimSpace(s[i+1:])
	}
	return s, ""
}

// TimelineReplyBudget is the most bytes `/incident timeline` answers with:
// a chat message's text stays well within Slack's 40,000 characters.
const TimelineReplyBudget = 12000

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
	text := PlainText(oneLine(ev.Text))
	if ev.Hidden {
		text = "[hidden] " + text
	}
	return fmt.Sprintf("%s  %-22s %-17s %s", ev.OccurredAt.UTC().Format(time.DateTime), ev.Actor, ev.Kind, text)
}

var mentionMarkup = regexp.MustCompile(`<([@#]|!subteam\^)([^>|]+)(?:\|([^>]*))?>`)

// PlainText turns the domain's mentions (Mention, GroupMention,
// ChannelLink) into plain "@U1", "@S1" and "#C1", for terminals, files and
// web pages; and chat mention markup in text people typed or that an older
// version stored ("<@U1>", "<@U1|ana>", "<#C1>", "<!subteam^S1>") into
// plain "@U1", "@ana", "#C1" and "@S1".
func PlainText(s string) string {
	return ReplaceMentions(s, plainChatMarkup, plainMention)
}

// plainChatMarkup turns chat mention markup into plain text.
func plainChatMarkup(s string) string {
	return mentionMarkup.ReplaceAllStringFunc(s, func(m string) string {
		parts := mentionMarkup.FindStringSubmatch(m)
		sigil := parts[1]
		if sigil != "#" {
			sigil = "@"
		}
		if parts[3] != "" {
			return sigil + strings.TrimPrefix(parts[3], "@")
		}
		return sigil + parts[2]
	})
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
