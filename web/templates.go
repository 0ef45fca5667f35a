package web

import (
	"fmt"
	"html/template"
	"strings"
	"time"
)

// pageNames are the page templates; each defines "content" inside base.
var pageNames = []string{"login", "error", "incidents", "incident", "postmortem", "overview"}

var funcs = template.FuncMap{
	// points joins chart points for an SVG polyline.
	"points": func(ps []point) string {
		var b strings.Builder
		for i, p := range ps {
			if i > 0 {
				b.WriteByte(' ')
			}
			fmt.Fprintf(&b, "%d,%d", p.X, p.Y)
		}
		return b.String()
	},
	"lower": strings.ToLower,
	// dur is a duration as "1h 05m"; "" for none.
	"dur": func(d time.Duration) string {
		if d <= 0 {
			return ""
		}
		return duration(time.Time{}.Add(time.Hour), time.Time{}.Add(time.Hour+d))
	},
}

func (s *Server) parseTemplates() {
	s.pages = map[string]*template.Template{}
	for _, name := range pageNames {
		s.pages[name] = template.Must(template.New(name).Funcs(funcs).ParseFS(assets, "templates/base.html", "templates/"+name+".html"))
	}
}
