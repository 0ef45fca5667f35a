package runbooks

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"regexp"
	"strings"
	"time"
)

// A step's allowed_hosts restricts where its http or http_check request
// may go. Each pattern is one of:
//
//	api.example.com        exactly this host name
//	*.internal.example.com any name below internal.example.com (not the name itself)
//	10.1.2.3, ::1          exactly this address
//	10.0.0.0/8, fe80::/10  any address in the range
//
// A URL host must match a name pattern, or the addresses it is dialled at
// must all be in an address pattern. Whatever the list says, loopback,
// link-local, unspecified (0.0.0.0, ::) and multicast addresses are
// refused unless an address pattern covers them explicitly: a name
// pattern never lets a request reach them, so a name that resolves (or is
// re-bound) to 127.0.0.1 or 169.254.169.254 is refused.
//
// The address checked is the one the connection is made to (checked in the
// dialer, after resolution), so DNS rebinding between a check and the
// connection cannot get past it; redirects, if the HTTP client follows
// them, dial through the same check.

// hostPolicy is a parsed allowed_hosts list.
type hostPolicy struct {
	patterns []string // as written, for messages
	names    []string // exact names, lower case
	suffixes []string // ".internal.example.com" for *.internal.example.com
	prefixes []netip.Prefix
}

var hostNameRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$`)

// parseHostPattern validates one allowed_hosts pattern and adds it to p.
func (p *hostPolicy) add(pattern string) error {
	s := strings.ToLower(strings.TrimSpace(pattern))
	switch {
	case s == "":
		return errors.New("empty pattern")
	case strings.Contains(s, "/"):
		pre, err := netip.ParsePrefix(s)
		if err != nil {
			return fmt.Errorf("%q is not an address range (like 10.0.0.0/8)", pattern)
		}
		p.prefixes = append(p.prefixes, pre.Masked())
	case strings.HasPrefix(s, "*."):
		rest := s[2:]
		if !hostNameRE.MatchString(rest) || !strings.Contains(rest, ".") {
			return fmt.Errorf("%q: a wildcard must be followed by a domain of at least two labels (like *.internal.example.com)", pattern)
		}
		p.suffixes = append(p.suffixes, "."+rest)
	default:
		if a, err := netip.ParseAddr(strings.Trim(s, "[]")); err == nil {
			p.prefixes = append(p.prefixes, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
			break
		}
		if strings.Contains(s, "*") {
			return fmt.Errorf("%q: a wildcard is allowed only as the first label (*.example.com)", pattern)
		}
		if !hostNameRE.MatchString(s) {
			return fmt.Errorf("%q is not a host name, address or address range", pattern)
		}
		p.names = append(p.names, s)
	}
	p.patterns = append(p.patterns, pattern)
	return nil
}

func newHostPolicy(patterns []string) (hostPolicy, error) {
	var p hostPolicy
	for _, s := range patterns {
		if err := p.add(s); err != nil {
			return hostPolicy{}, fmt.Errorf("allowed_hosts: %w", err)
		}
	}
	return p, nil
}

func (p hostPolicy) empty() bool { return len(p.patterns) == 0 }

// allowsName reports whether a name pattern covers host (a name, or an
// address literal covered by an address pattern).
func (p hostPolicy) allowsName(host string) bool {
	h := strings.TrimSuffix(strings.ToLower(host), ".")
	if a, err := netip.ParseAddr(strings.Trim(h, "[]")); err == nil {
		return p.allowsAddr(a)
	}
	for _, n := range p.names {
		if h == n {
			return true
		}
	}
	for _, suf := range p.suffixes {
		if strings.HasSuffix(h, suf) {
			return true
		}
	}
	return false
}

func (p hostPolicy) allowsAddr(a netip.Addr) bool {
	a = a.Unmap()
	for _, pre := range p.prefixes {
		if pre.Contains(a) {
			return true
		}
	}
	return false
}

// checkHost is the check before a request is sent: a non-empty list must
// cover the host by name, or have address patterns the dialled addresses
// can be checked against.
func (p hostPolicy) checkHost(host string) (nameOK bool, err error) {
	if p.empty() {
		return false, nil
	}
	if p.allowsName(host) {
		return true, nil
	}
	if _, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil || len(p.prefixes) == 0 {
		return false, fmt.Errorf("host %q is not in the step's allowed_hosts (%s)", host, strings.Join(p.patterns, ", "))
	}
	return false, nil
}

// specialAddr names the kind of address that is refused unless an address
// pattern covers it, or "" for an ordinary address.
func specialAddr(a netip.Addr) string {
	a = a.Unmap()
	switch {
	case a.IsLoopback():
		return "a loopback address"
	case a.IsLinkLocalUnicast():
		return "a link-local address"
	case a.IsUnspecified():
		return "the unspecified address"
	case a.IsMulticast() || a.IsLinkLocalMulticast() || a.IsInterfaceLocalMulticast():
		return "a multicast address"
	}
	return ""
}

// dialGuard carries a step's policy to the dialer, through the request's
// context.
type dialGuard struct{ policy hostPolicy }

type dialGuardKey struct{}

func withDialGuard(ctx context.Context, g dialGuard) context.Context {
	return context.WithValue(ctx, dialGuardKey{}, g)
}

// checkAddr checks an address a connection to host is about to be made to.
func (p hostPolicy) checkAddr(host string, a netip.Addr) error {
	a = a.Unmap()
	if kind := specialAddr(a); kind != "" && !p.allowsAddr(a) {
		return fmt.Errorf("refused to connect to %s (%s): %s; list it in the step's allowed_hosts to allow it", host, a, kind)
	}
	if !p.empty() && !p.allowsName(host) && !p.allowsAddr(a) {
		return fmt.Errorf("refused to connect to %s (%s): not in the step's allowed_hosts (%s)", host, a, strings.Join(p.patterns, ", "))
	}
	return nil
}

// guardedDialer resolves the host once, checks every address against the
// step's policy (a context without one gets the default: special
// addresses refused) and connects only to an address it checked, so a
// name re-bound between the check and the connection cannot get past it.
// A redirect's connection comes through here too, checked for its own
// host.
type guardedDialer struct {
	dialer   *net.Dialer
	resolver *net.Resolver
}

func (d guardedDialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	g, _ := ctx.Value(dialGuardKey{}).(dialGuard)
	host, port, err := net.SplitHostPort(address)
	if err != nil {
		return nil, err
	}
	var addrs []netip.Addr
	if a, err := netip.ParseAddr(host); err == nil {
		addrs = []netip.Addr{a}
	} else {
		if _, err := g.policy.checkHost(host); err != nil {
			return nil, err
		}
		if addrs, err = d.resolver.LookupNetIP(ctx, "ip", host); err != nil {
			return nil, err
		}
	}
	var firstErr error
	for _, a := range addrs {
		if err := g.policy.checkAddr(host, a); err != nil {
			firstErr = cmp.Or(firstErr, err)
			continue
		}
		conn, err := d.dialer.DialContext(ctx, network, net.JoinHostPort(a.Unmap().String(), port))
		if err == nil {
			return conn, nil
		}
		firstErr = cmp.Or(firstErr, err)
	}
	if firstErr == nil {
		firstErr = fmt.Errorf("%s has no address", host)
	}
	return nil, firstErr
}

// guardClient returns a copy of c whose connections go through a
// guardedDialer. A transport that is not an *http.Transport cannot be
// guarded and is used as is (tests and callers with their own
// RoundTripper answer for it). The guarded transport dials directly,
// never through a proxy from the environment (the proxy would be the
// address checked, not the target), and keeps no idle connections (a
// connection one step was allowed to open must not serve another step).
func guardClient(c *http.Client) *http.Client {
	nc := *c
	var tr *http.Transport
	switch t := c.Transport.(type) {
	case nil:
		tr = http.DefaultTransport.(*http.Transport).Clone()
	case *http.Transport:
		tr = t.Clone()
	default:
		return &nc
	}
	d := guardedDialer{dialer: &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}, resolver: net.DefaultResolver}
	tr.Proxy = nil
	tr.DialContext = d.DialContext
	tr.DialTLSContext = nil
	tr.DisableKeepAlives = true
	nc.Transport = tr
	return &nc
}

// urlHostTemplated reports whether a parameter can choose (or change) the
// host of a url template: a {{ appears before the literal text has ended
// the authority with /, ? or #.
func urlHostTemplated(u string) bool {
	rest := u
	if i := strings.Index(rest, "://"); i >= 0 {
		rest = rest[i+3:]
	}
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	return strings.Contains(rest[:end], "{{")
}
