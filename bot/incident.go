package bot

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Severity ranks an incident from SEV1 (most severe) to SEV4.
type Severity int

const (
	SEV1 Severity = 1
	SEV2 Severity = 2
	SEV3 Severity = 3
	SEV4 Severity = 4
)

// ParseSeverity accepts "SEV2", "sev2", "2" and "P2".
func ParseSeverity(s string) (Severity, error) {
	t := strings.ToUpper(strings.TrimSpace(s))
	t = strings.TrimPrefix(strings.TrimPrefix(t, "SEV"), "P")
	n, err := strconv.Atoi(t)
	if err != nil || n < 1 || n > 4 {
		return 0, FieldErrorf("severity", "%q is not a severity: use SEV1 (most severe) to SEV4", s)
	}
	return Severity(n), nil
}

func (s Severity) String() string { return fmt.Sprintf("SEV%d", int(s)) }

// Valid reports whether s is SEV1..SEV4.
func (s Severity) Valid() bool { return s >= SEV1 && s <= SEV4 }

// Status is where an incident is in its lifecycle.
type Status string

const (
	StatusTriggered     Status = "triggered"
	StatusInvestigating Status = "investigating"
	StatusIdentified    Status = "identified"
	StatusMonitoring    Status = "monitoring"
	StatusResolved      Status = "resolved"
)

// Statuses lists the lifecycle in order.
var Statuses = []Status{StatusTriggered, StatusInvestigating, StatusIdentified, StatusMonitoring, StatusResolved}

// ParseStatus accepts a status name in any case.
func ParseStatus(s string) (Status, error) {
	t := Status(strings.ToLower(strings.TrimSpace(s)))
	if t.rank() < 0 {
		return "", FieldErrorf("status", "%q is not a status: use one of investigating, identified, monitoring, resolved", s)
	}
	return t, nil
}

func (s Status) rank() int {
	for i, st := range Statuses {
		if st == s {
			return i
		}
	}
	return -1
}

// Before reports whether s comes earlier in the lifecycle than o.
func (s Status) Before(o Status) bool { return s.rank() < o.rank() }

// Role is a responsibility a person holds in an incident.
type Role string

const (
	RoleCommander Role = "commander"
	RoleComms     Role = "comms"
)

// Incident is one incident: its facts and the key times the metrics are
// computed from. Zero times are unset.
type Incident struct {
	ID          int64
	Title       string
	Description string
	Severity    Severity
	Status      Status
	Commander   string // chat user id
	CommsLead   string // chat user id
	Private     bool

	ChannelID   string // chat channel id, once created
	ChannelName string // chat channel name, once created
	CardTS      string // the incident card's message id in the channel

	Source    string            // where it came from: "webhook", "pagerduty", "alertmanager", "chat"
	DedupKey  string            // the source's key; one open incident per (source, key)
	SourceURL string            // a link to the alert or the source incident
	Labels    map[string]string // the alert's labels

	DetectedAt     time.Time // when the alert fired, from the source
	DeclaredAt     time.Time
	AcknowledgedAt time.Time
	MitigatedAt    time.Time
	ResolvedAt     time.Time
	UpdatedAt      time.Time
	LastUpdateAt   time.Time // the last status update posted
	// NextUpdateBy is when the last status update said the next one comes
	// (zero: it said nothing); the reminder schedule follows it.
	NextUpdateBy time.Time
}

// Key is the human id, "INC-<n>".
func (i Incident) Key() string { return IncidentKey(i.ID) }

// Open reports whether the incident is not resolved.
func (i Incident) Open() bool { return i.Status != StatusResolved }

// IncidentKey formats an incident number as "INC-<n>".
func IncidentKey(id int64) string { return fmt.Sprintf("INC-%d", id) }

// ParseIncidentKey accepts "INC-12", "inc-12" and "12".
func ParseIncidentKey(s string) (int64, error) {
	t := strings.TrimPrefix(strings.ToUpper(strings.TrimSpace(s)), "INC-")
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 1 {
		return 0, FieldErrorf("incident", "%q is not an incident id: use INC-<n>", s)
	}
	return n, nil
}

// transition moves the incident to status to at time at and sets the key
// times that the move reaches for the first time. It reports whether the move
// goes backwards (a re-open).
func (i *Incident) transition(to Status, at time.Time) (reopened bool, err error) {
	if to.rank() < 0 {
		return false, FieldErrorf("status", "unknown status %q", to)
	}
	if to == i.Status {
		return false, Errorf(EINVALID, "%s is already %s", i.Key(), to)
	}
	reopened = to.Before(i.Status)
	i.Status = to
	if !StatusTriggered.Before(to) {
		i.ResolvedAt = time.Time{} // a re-open to triggered is not resolved either
		return reopened, nil
	}
	if i.AcknowledgedAt.IsZero() {
		i.AcknowledgedAt = at
	}
	// Reaching monitoring or beyond means the impact is mitigated, even when a
	// team skips straight to resolved.
	if !to.Before(StatusMonitoring) && i.MitigatedAt.IsZero() {
		i.MitigatedAt = at
	}
	if to == StatusResolved {
		i.ResolvedAt = at
		i.NextUpdateBy = time.Time{} // a resolved incident owes no update; a re-open starts afresh
	} else {
		i.ResolvedAt = time.Time{}
	}
	return reopened, nil
}

// Slug turns a title into a chat-channel-safe slug: lowercase letters,
// digits and single hyphens.
func Slug(title string) string {
	var b strings.Builder
	hyphen := false
	for _, r := range strings.ToLower(title) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
			hyphen = false
		case !hyphen && b.Len() > 0:
			b.WriteByte('-')
			hyphen = true
		}
	}
	return strings.TrimSuffix(b.String(), "-")
}

// ChannelName is the incident's channel name, "inc-<n>-<slug>", at most 80
// characters (Slack's limit), with suffix appended when non-empty (used when
// the name is taken).
func ChannelName(id int64, title, suffix string) string {
	base := fmt.Sprintf("inc-%d", id)
	tail := ""
	if suffix != "" {
		tail = "-" + suffix
	}
	slug := Slug(title)
	room := 80 - len(base) - len(tail) - 1
	if len(slug) > room {
		slug = strings.TrimRight(slug[:max(room, 0)], "-")
	}
	if slug != "" {
		base += "-" + slug
	}
	return base + tail
}
