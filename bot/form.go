package bot

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// A Form is what the domain asks a person to fill in before an action, as
// a Message is what it tells them: the chat renders it its own way (a
// Block Kit modal in Slack, prompts in the console) and hands the answers
// back as FormValues, by field id. The domain builds every form (the
// builders below, runbooks.ParamsForm) and reads the values back; a chat
// decides nothing about a form's contents.
type Form struct {
	ID     string // which form: FormDeclare, FormPostUpdate, …
	Title  string // a short heading (Slack cuts it at 24 characters)
	Submit string // the submit button's label
	Intro  string // text above the fields; may be empty
	Fields []FormField
	// Metadata is opaque to the chat: it is returned, as it was given,
	// with the submission (the incident, the channel to answer in).
	Metadata string
}

// The forms the domain asks for (Form.ID). runbooks adds
// runbooks.FormRunRunbook.
const (
	FormDeclare           = "declare"            // Metadata: the channel the declare came from
	FormPostUpdate        = "post_update"        // Metadata: the incident id
	FormTriageDecline     = "triage_decline"     // Metadata: the chat's own origin
	FormPublishStatusPage = "statuspage_publish" // Metadata: the chat's own origin
)

// FieldKind is how a form field is answered.
type FieldKind string

const (
	FieldText        FieldKind = "text"        // one line of text
	FieldMultiline   FieldKind = "multiline"   // several lines of text
	FieldSelect      FieldKind = "select"      // one of Options (its Value)
	FieldMultiSelect FieldKind = "multiselect" // any of Options, values joined by ","
	FieldCheckbox    FieldKind = "checkbox"    // ticked boxes of Options, values joined by ","; "" when none
)

// Option is one choice of a select or checkbox field.
type Option struct {
	Value string
	Label string
}

// FormField is one question of a form.
type FormField struct {
	ID          string // the key of its answer in FormValues and FormErrors
	Kind        FieldKind
	Label       string
	Hint        string // shown under the field
	Placeholder string // shown in an empty text field
	// Default is the preset answer: a text, or option values joined by ",".
	Default   string
	Required  bool
	MaxLength int // in characters; 0: no limit of the form's own
	Options   []Option
}

// FormValues are a submission's answers by field id: a text trimmed, an
// option's value, several values joined by ","; "" for a field left empty.
type FormValues map[string]string

// FormErrors says, by field id, what is wrong with a submission; a chat
// shows each message at its field (Slack: under the input; the console:
// asks the field again).
type FormErrors map[string]string

// Field is the form's field id, or nil.
func (f Form) Field(id string) *FormField {
	for i := range f.Fields {
		if f.Fields[i].ID == id {
			return &f.Fields[i]
		}
	}
	return nil
}

// Validate checks values against the form's own rules: a required field
// answered, a text within its maximum, a choice among the options. The
// domain's action checks the rest (and says which field is at fault, see
// ErrorField). nil means no field is at fault.
func (f Form) Validate(values FormValues) FormErrors {
	errs := FormErrors{}
	for _, fl := range f.Fields {
		v := values[fl.ID]
		switch {
		case v == "" && fl.Required:
			errs[fl.ID] = fl.Label + " is required: fill it in."
		case fl.MaxLength > 0 && utf8.RuneCountInString(v) > fl.MaxLength:
			errs[fl.ID] = fmt.Sprintf("At most %d characters (this has %d): shorten it.", fl.MaxLength, utf8.RuneCountInString(v))
		case v != "" && len(fl.Options) > 0:
			for _, one := range fl.choices(v) {
				if !slices.ContainsFunc(fl.Options, func(o Option) bool { return o.Value == one }) {
					errs[fl.ID] = fmt.Sprintf("%q is not one of the choices: %s.", one, fl.optionList())
					break
				}
			}
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return errs
}

// choices splits an answer into the option values it names.
func (fl FormField) choices(v string) []string {
	if fl.Kind == FieldSelect {
		return []string{v}
	}
	var out []string
	for _, one := range strings.Split(v, ",") {
		if one = strings.TrimSpace(one); one != "" {
			out = append(out, one)
		}
	}
	return out
}

func (fl FormField) optionList() string {
	values := make([]string, len(fl.Options))
	for i, o := range fl.Options {
		values[i] = o.Value
	}
	return strings.Join(values, ", ")
}

// ErrorField is the field of form that err names (a *Error with a Field
// the form has), else fallback: where a chat shows a refused submission.
func (f Form) ErrorField(err error, fallback string) string {
	var be *Error
	if errors.As(err, &be) && be.Field != "" && f.Field(be.Field) != nil {
		return be.Field
	}
	return fallback
}

// DeclarePreset is what a declare command already said, to preset in its
// form.
type DeclarePreset struct {
	Severity Severity // 0: none chosen
	Private  bool
}

// DeclareFormRequest reports whether text is "declare" with flags but no
// title, which opens the declare form, and what the flags preset. A bad
// flag is left to the command grammar, which answers with the usage line.
func DeclareFormRequest(text string) (DeclarePreset, bool) {
	words := strings.Fields(text)
	if len(words) == 0 || !strings.EqualFold(words[0], "declare") {
		return DeclarePreset{}, false
	}
	var p DeclarePreset
	for _, w := range words[1:] {
		lw := strings.ToLower(w)
		switch {
		case lw == "--private":
			p.Private = true
		case strings.HasPrefix(lw, "--sev"):
			sev, err := ParseSeverity(strings.TrimPrefix(strings.TrimPrefix(lw, "--sev"), "="))
			if err != nil {
				return DeclarePreset{}, false
			}
			p.Severity = sev
		default:
			return DeclarePreset{}, false // a title: declare directly
		}
	}
	return p, true
}

// Fields of the declare form.
const (
	DeclareTitle       = "title"
	DeclareSeverity    = "severity"
	DeclareDescription = "description"
	DeclarePrivate     = "private"
)

// DeclareForm is the declare form, preset; channel (the form's metadata)
// is where the declarer is told the outcome.
func DeclareForm(p DeclarePreset, channel string) Form {
	var sevs []Option
	for sev := SEV1; sev <= SEV4; sev++ {
		sevs = append(sevs, Option{Value: sev.String(), Label: sev.String()})
	}
	sev := FormField{ID: DeclareSeverity, Kind: FieldSelect, Label: "Severity", Hint: "SEV1 is the most severe.",
		Placeholder: "Default severity", Options: sevs}
	if p.Severity.Valid() {
		sev.Default = p.Severity.String()
	}
	private := FormField{ID: DeclarePrivate, Kind: FieldCheckbox, Label: "Visibility",
		Hint:    "A private channel; the broadcast says only that a private incident exists.",
		Options: []Option{{Value: "private", Label: "Private incident (security, HR)"}}}
	if p.Private {
		private.Default = "private"
	}
	return Form{ID: FormDeclare, Title: "Declare an incident", Submit: "Declare", Metadata: channel,
		Fields: []FormField{
			{ID: DeclareTitle, Kind: FieldText, Label: "Title", Placeholder: "Platform API returning 500", Required: true, MaxLength: MaxTitleLen},
			sev,
			{ID: DeclareDescription, Kind: FieldMultiline, Label: "Description", Placeholder: "What is known so far", MaxLength: MaxDescriptionLen},
			private,
		}}
}

// DeclareRequestFrom reads a submitted declare form; a severity that is
// none of SEV1 to SEV4 is named at its field.
func DeclareRequestFrom(actor string, v FormValues) (DeclareRequest, FormErrors) {
	req := DeclareRequest{Actor: actor, Title: v[DeclareTitle], Description: v[DeclareDescription], Private: v[DeclarePrivate] != ""}
	if s := v[DeclareSeverity]; s != "" {
		sev, err := ParseSeverity(s)
		if err != nil {
			return req, FormErrors{DeclareSeverity: "choose SEV1 to SEV4"}
		}
		req.Severity = sev
	}
	return req, nil
}

// Fields of the update form.
const (
	UpdateText        = "text"
	UpdateNext        = "next"
	UpdateAlsoPublish = "also_publish"
)

// MaxUpdateField is the update form's text maximum: one section of a
// posted Slack message (3,000 characters, which is also MaxTextLen).
// Longer updates typed as a command are posted whole, over several
// sections.
const MaxUpdateField = 3000

// Form is the "Post update" form: the text, when the next update comes,
// and, when PublishPage is set, a box that publishes it there too.
func (f UpdateForm) Form() Form {
	hint := "A duration (30m, 1h) or a time HH:MM. The reminder comes if no update is posted by then."
	if f.DefaultNext > 0 {
		hint += fmt.Sprintf(" Empty: in %s (the %s reminder interval).", ShortDuration(f.DefaultNext), f.Incident.Severity)
	}
	form := Form{ID: FormPostUpdate, Title: "Post a status update", Submit: "Post", Metadata: fmt.Sprint(f.Incident.ID),
		Fields: []FormField{
			{ID: UpdateText, Kind: FieldMultiline, Label: "Update", Placeholder: "What is happening, what is next",
				Hint:    "Drafted from the timeline since the previous update: edit it. Posted in the channel and mirrored to the broadcast channel.",
				Default: f.Text, Required: true, MaxLength: MaxUpdateField},
			{ID: UpdateNext, Kind: FieldText, Label: "Next update by", Placeholder: "30m, 1h or HH:MM", Hint: hint, Default: f.Next},
		}}
	if f.PublishPage != "" {
		box := FormField{ID: UpdateAlsoPublish, Kind: FieldCheckbox, Label: "Customers",
			Hint:    "Customers read the text exactly as written, with the incident's public status and components.",
			Options: []Option{{Value: "public", Label: "Also publish this text to " + f.PublishPage}}}
		if f.Public {
			box.Default = "public"
		}
		form.Fields = append(form.Fields, box)
	}
	return form
}

// ShortDuration renders an interval to the minute: "30m", "1h", "1h30m".
func ShortDuration(d time.Duration) string {
	return strings.TrimSuffix(strings.TrimSuffix(d.Round(time.Minute).String(), "0s"), "h0m")
}

// DeclineReason is the decline form's field.
const DeclineReason = "reason"

// DeclineForm asks why triaged incident key is declined.
func DeclineForm(key, metadata string) Form {
	return Form{ID: FormTriageDecline, Title: "Decline " + key, Submit: "Decline", Metadata: metadata,
		Intro: key + " is resolved without a channel, marked declined.",
		Fields: []FormField{{ID: DeclineReason, Kind: FieldMultiline, Label: "Why is it not an incident?",
			Placeholder: "A known flapping check; tracked in OPS-123", MaxLength: MaxTextLen,
			Hint: "Recorded on its timeline and shown on the triage message. Empty: \"not worth an incident\"."}}}
}

// Fields of the publish form, named as PublishStatusPage's errors name
// them.
const (
	PublishTitle           = "title"
	PublishBody            = "body"
	PublishStatus          = "status"
	PublishComponents      = "components"
	PublishComponentStatus = "component_status"
	PublishNext            = "next"
)

// PublishForm is the status-page publish form, prefilled with draft, for
// page (its name) and its components (none: no component fields).
func PublishForm(draft PublicUpdate, page string, components []string, metadata string) Form {
	var statuses []Option
	for _, st := range Statuses[1:] {
		statuses = append(statuses, Option{Value: string(st), Label: st.Words()})
	}
	fields := []FormField{
		{ID: PublishTitle, Kind: FieldText, Label: "Public title", Hint: "Not the internal title: what customers see.",
			Default: draft.Title, Required: true, MaxLength: 255},
		{ID: PublishStatus, Kind: FieldSelect, Label: "Status", Default: string(draft.Status), Required: true, Options: statuses},
	}
	if len(components) > 0 {
		var opts []Option
		var chosen []string
		for _, n := range components {
			opts = append(opts, Option{Value: n, Label: n})
			if slices.ContainsFunc(draft.Components, func(c PublicComponent) bool { return c.Name == n }) {
				chosen = append(chosen, n)
			}
		}
		current := ComponentMajorOutage
		if len(draft.Components) > 0 {
			current = draft.Components[0].Status
		}
		var csOpts []Option
		for _, cs := range slices.Backward(ComponentStatuses) {
			csOpts = append(csOpts, Option{Value: string(cs), Label: cs.Words()})
		}
		fields = append(fields,
			FormField{ID: PublishComponents, Kind: FieldMultiSelect, Label: "Affected components", Default: strings.Join(chosen, ","), Options: opts},
			FormField{ID: PublishComponentStatus, Kind: FieldSelect, Label: "Component status", Required: true,
				Hint: "From the severity by default; resolving sets them operational.", Default: string(current), Options: csOpts})
	}
	fields = append(fields,
		FormField{ID: PublishBody, Kind: FieldMultiline, Label: "Public text", Required: true, Default: draft.Body,
			Hint: "Replace the prompt in brackets; customers read this as written."},
		FormField{ID: PublishNext, Kind: FieldText, Label: "Next update by", Placeholder: "30m, 1h or HH:MM",
			Hint: "A duration (30m, 1h) or a time HH:MM: the public text ends \"Next update by HH:MM\". Empty: no promise."})
	return Form{ID: FormPublishStatusPage, Title: "Publish to status page", Submit: "Publish", Metadata: metadata,
		Intro:  fmt.Sprintf("Customers will read exactly this on %s. Nothing from the channel is included unless you type it here.", page),
		Fields: fields}
}
