package runbooks

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"
)

// TLSCheckExecutor runs tls_check steps.
type TLSCheckExecutor struct{ opts Options }

// NewTLSCheckExecutor returns a tls_check executor (see [Options]).
func NewTLSCheckExecutor(opts Options) *TLSCheckExecutor {
	return &TLSCheckExecutor{opts: opts.withDefaults()}
}

// CertInfo describes one certificate of the presented chain.
type CertInfo struct {
	Subject   string
	Issuer    string
	DNSNames  []string
	IPs       []string
	NotBefore time.Time
	NotAfter  time.Time
	Serial    string
}

// TLSDetails are the Result.Details of a tls_check step.
type TLSDetails struct {
	Address    string
	ServerName string
	// Chain is the chain as presented by the server, leaf first.
	Chain []CertInfo
	// DaysLeft is the number of whole days until the leaf expires
	// (negative once expired).
	DaysLeft    int
	MinDaysLeft int
	// Verified reports whether the chain verifies for ServerName against
	// the configured roots at the executor's current time.
	Verified    bool
	VerifyError string
	// Problems lists every reason the step failed (empty on success).
	Problems []string
	// TLSVersion and CipherSuite of the connection.
	TLSVersion  string
	CipherSuite string
}

// Execute connects to step.TLSCheck.Address with SNI ServerName, reads
// the chain without trusting it, then verifies it with x509 against
// Options.RootCAs (system roots if nil) for ServerName at Options.Now. The
// step fails if the chain does not verify (unknown authority, name
// mismatch, expired or not yet valid) or the leaf expires in fewer than
// MinDaysLeft days; the chain details are reported either way. A
// connection or handshake failure is a failed Result; see [Executor] for
// when an error is returned.
func (e *TLSCheckExecutor) Execute(ctx context.Context, step RenderedStep) (Result, error) {
	if step.Action != ActionTLSCheck || step.TLSCheck == nil {
		return Result{}, wrongAction(ActionTLSCheck, step)
	}
	o := e.opts
	c := step.TLSCheck
	name := c.ServerName
	if name == "" {
		name, _, _ = net.SplitHostPort(c.Address)
	}
	d := &TLSDetails{Address: c.Address, ServerName: name, MinDaysLeft: c.MinDaysLeft}
	res := Result{ExitCode: -1, Started: o.Now(), Details: d}
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = DefaultCheckTimeout
	}
	dctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	dialer := &tls.Dialer{Config: &tls.Config{
		ServerName: name,
		// Verification is done below, manually, so that the details of
		// a bad certificate can still be reported.
		InsecureSkipVerify: true, //nolint:gosec // verified manually below
	}}
	conn, err := dialer.DialContext(dctx, "tcp", c.Address)
	if err != nil {
		res.Finished = o.Now()
		res.Status = StatusFailed
		res.Summary = fmt.Sprintf("%s: handshake failed: %v", c.Address, err)
		d.Problems = append(d.Problems, "handshake failed: "+err.Error())
		return res, nil
	}
	state := conn.(*tls.Conn).ConnectionState()
	_ = conn.Close()
	d.TLSVersion = tls.VersionName(state.Version)
	d.CipherSuite = tls.CipherSuiteName(state.CipherSuite)
	certs := state.PeerCertificates
	if len(certs) == 0 {
		res.Finished = o.Now()
		res.Status = StatusFailed
		res.Summary = c.Address + " presented no certificate"
		d.Problems = append(d.Problems, "no certificate presented")
		return res, nil
	}
	for _, cert := range certs {
		info := CertInfo{
			Subject:   cert.Subject.String(),
			Issuer:    cert.Issuer.String(),
			DNSNames:  cert.DNSNames,
			NotBefore: cert.NotBefore,
			NotAfter:  cert.NotAfter,
			Serial:    cert.SerialNumber.String(),
		}
		for _, ip := range cert.IPAddresses {
			info.IPs = append(info.IPs, ip.String())
		}
		d.Chain = append(d.Chain, info)
	}
	leaf := certs[0]
	now := o.Now()
	d.DaysLeft = int(leaf.NotAfter.Sub(now).Hours() / 24)
	if leaf.NotAfter.Before(now) {
		// Round towards minus infinity so "expired an hour ago" is -1.
		d.DaysLeft = -int((now.Sub(leaf.NotAfter).Hours())/24) - 1
	}

	inter := x509.NewCertPool()
	for _, cert := range certs[1:] {
		inter.AddCert(cert)
	}
	_, verr := leaf.Verify(x509.VerifyOptions{
		DNSName:       name,
		Roots:         o.RootCAs,
		Intermediates: inter,
		CurrentTime:   now,
	})
	d.Verified = verr == nil
	if verr != nil {
		d.VerifyError = verr.Error()
	}
	// Report each problem independently, so that e.g. an expired
	// certificate for the wrong name says both.
	switch {
	case now.After(leaf.NotAfter):
		d.Problems = append(d.Problems, fmt.Sprintf("expired on %s", leaf.NotAfter.UTC().Format(time.RFC3339)))
	case now.Before(leaf.NotBefore):
		d.Problems = append(d.Problems, fmt.Sprintf("not valid before %s", leaf.NotBefore.UTC().Format(time.RFC3339)))
	case d.DaysLeft < c.MinDaysLeft:
		d.Problems = append(d.Problems, fmt.Sprintf("expires in %d days (on %s), less than the required %d",
			d.DaysLeft, leaf.NotAfter.UTC().Format("2006-01-02"), c.MinDaysLeft))
	}
	if err := leaf.VerifyHostname(name); err != nil {
		d.Problems = append(d.Problems, fmt.Sprintf("not valid for %q (names: %s)", name, strings.Join(certNames(leaf), ", ")))
	}
	// x509 reports only the first problem it meets (a name mismatch hides
	// an unknown authority), so check the chain on its own too.
	_, chainErr := leaf.Verify(x509.VerifyOptions{Roots: o.RootCAs, Intermediates: inter, CurrentTime: now})
	var ua x509.UnknownAuthorityError
	var inv x509.CertificateInvalidError
	switch {
	case errors.As(chainErr, &ua):
		d.Problems = append(d.Problems, "chain does not lead to a trusted root (unknown authority)")
	case errors.As(chainErr, &inv) && inv.Reason == x509.Expired:
		// already reported above (leaf) or an expired intermediate
		if !now.After(leaf.NotAfter) && !now.Before(leaf.NotBefore) {
			d.Problems = append(d.Problems, "chain does not verify: "+chainErr.Error())
		}
	case chainErr != nil:
		d.Problems = append(d.Problems, "chain does not verify: "+chainErr.Error())
	}
	if verr != nil && len(d.Problems) == 0 {
		d.Problems = append(d.Problems, "does not verify: "+verr.Error())
	}

	res.Finished = o.Now()
	if len(d.Problems) == 0 {
		res.Status = StatusSucceeded
		res.Summary = fmt.Sprintf("%s: certificate for %s valid, %d days left (until %s), issued by %s",
			c.Address, name, d.DaysLeft, leaf.NotAfter.UTC().Format("2006-01-02"), leaf.Issuer.CommonName)
	} else {
		res.Status = StatusFailed
		res.Summary = fmt.Sprintf("%s: certificate problem: %s", c.Address, strings.Join(d.Problems, "; "))
	}
	return res, nil
}

func certNames(c *x509.Certificate) []string {
	names := append([]string(nil), c.DNSNames...)
	for _, ip := range c.IPAddresses {
		names = append(names, ip.String())
	}
	if len(names) == 0 && c.Subject.CommonName != "" {
		names = append(names, "CN="+c.Subject.CommonName)
	}
	return names
}
