package runbooks

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
}

var serial int64 = 100

func newKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func newCA(t *testing.T, name string, dnsNames ...string) *testCA {
	t.Helper()
	key := newKey(t)
	serial++
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(serial),
		Subject:               pkix.Name{CommonName: name},
		DNSNames:              dnsNames,
		NotBefore:             time.Now().Add(-365 * 24 * time.Hour),
		NotAfter:              time.Now().Add(10 * 365 * 24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &testCA{cert: cert, key: key, pool: pool}
}

// leaf issues a server certificate and returns it with the chain to serve.
func (ca *testCA) leaf(t *testing.T, dnsNames []string, notBefore, notAfter time.Time) tls.Certificate {
	t.Helper()
	key := newKey(t)
	serial++
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial),
		Subject:      pkix.Name{CommonName: dnsNames[0]},
		DNSNames:     dnsNames,
		NotBefore:    notBefore,
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der, ca.cert.Raw}, PrivateKey: key}
}

// serveTLS serves cert on a local port (handshake only) and returns the address.
func serveTLS(t *testing.T, cert tls.Certificate) string {
	t.Helper()
	l, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				_ = c.(*tls.Conn).Handshake()
				_ = c.Close()
			}()
		}
	}()
	return l.Addr().String()
}

func tlsStep(addr, name string, minDays int) RenderedStep {
	return RenderedStep{Action: ActionTLSCheck, TLSCheck: &RenderedTLSCheck{Address: addr, ServerName: name, MinDaysLeft: minDays, Timeout: 10 * time.Second}}
}

func TestTLSCheck(t *testing.T) {
	ts := httptest.NewTLSServer(http.NotFoundHandler())
	defer ts.Close()
	tsPool := x509.NewCertPool()
	tsPool.AddCert(ts.Certificate())
	tsAddr := ts.Listener.Addr().String()

	ca := newCA(t, "Sitrep Test CA")
	now := time.Now()
	expired := serveTLS(t, ca.leaf(t, []string{"api.example.test"}, now.Add(-90*24*time.Hour), now.Add(-24*time.Hour)))
	fixedNotAfter := now.Add(60 * 24 * time.Hour).Truncate(time.Second)
	soon := serveTLS(t, ca.leaf(t, []string{"api.example.test", "www.example.test"}, now.Add(-24*time.Hour), fixedNotAfter))
	selfSigned := newCA(t, "api.example.test", "api.example.test") // a CA cert served as its own leaf
	selfAddr := serveTLS(t, tls.Certificate{Certificate: [][]byte{selfSigned.cert.Raw}, PrivateKey: selfSigned.key})

	// Clock 5 days and 1 hour before the "soon" certificate expires.
	soonClock := func() time.Time { return fixedNotAfter.Add(-5*24*time.Hour - time.Hour) }

	tests := []struct {
		name         string
		opts         Options
		step         RenderedStep
		wantOK       bool
		wantVerified bool
		wantProblem  string
		wantDays     int // checked when >= 0
		wantChain    int
	}{
		{"valid httptest cert", Options{RootCAs: tsPool}, tlsStep(tsAddr, "example.com", 14), true, true, "", -1, 1},
		{"valid by IP SAN (default server name)", Options{RootCAs: tsPool}, tlsStep(tsAddr, "", 14), true, true, "", -1, 1},
		{"unknown authority", Options{RootCAs: x509.NewCertPool()}, tlsStep(tsAddr, "example.com", 14), false, false, "unknown authority", -1, 1},
		{"self-signed", Options{RootCAs: ca.pool}, tlsStep(selfAddr, "api.example.test", 14), false, false, "unknown authority", -1, 1},
		{"wrong name", Options{RootCAs: tsPool}, tlsStep(tsAddr, "wrong.example.org", 14), false, false, `not valid for "wrong.example.org"`, -1, 1},
		{"expired", Options{RootCAs: ca.pool}, tlsStep(expired, "api.example.test", 14), false, false, "expired on", -1, 2},
		{"expiring soon", Options{RootCAs: ca.pool, Now: soonClock}, tlsStep(soon, "api.example.test", 14), false, true, "expires in 5 days", 5, 2},
		{"expiring soon but above threshold", Options{RootCAs: ca.pool, Now: soonClock}, tlsStep(soon, "www.example.test", 3), true, true, "", 5, 2},
		{"valid own CA, real clock", Options{RootCAs: ca.pool}, tlsStep(soon, "api.example.test", 14), true, true, "", 59, 2},
		{"connection refused", Options{RootCAs: ca.pool}, tlsStep(closedAddr(t), "x.test", 14), false, false, "handshake failed", -1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := NewExecutors(tt.opts).Execute(context.Background(), tt.step)
			if err != nil {
				t.Fatal(err)
			}
			d := res.Details.(*TLSDetails)
			if res.Succeeded() != tt.wantOK || d.Verified != tt.wantVerified {
				t.Errorf("status %s verified %v: %s (%+v)", res.Status, d.Verified, res.Summary, d)
			}
			if tt.wantProblem != "" && !strings.Contains(strings.Join(d.Problems, "\n"), tt.wantProblem) {
				t.Errorf("problems %q do not mention %q", d.Problems, tt.wantProblem)
			}
			if tt.wantProblem != "" && !strings.Contains(res.Summary, tt.wantProblem) {
				t.Errorf("summary %q does not mention %q", res.Summary, tt.wantProblem)
			}
			if tt.wantOK && len(d.Problems) != 0 {
				t.Errorf("unexpected problems %q", d.Problems)
			}
			if tt.wantDays >= 0 && d.DaysLeft != tt.wantDays {
				t.Errorf("DaysLeft = %d, want %d", d.DaysLeft, tt.wantDays)
			}
			if len(d.Chain) != tt.wantChain {
				t.Fatalf("chain length %d, want %d", len(d.Chain), tt.wantChain)
			}
			// Details of bad certificates are still reported.
			if len(d.Chain) > 0 && (d.Chain[0].Subject == "" || d.Chain[0].NotAfter.IsZero() ||
				len(d.Chain[0].DNSNames)+len(d.Chain[0].IPs) == 0) {
				t.Errorf("leaf details missing: %+v", d.Chain[0])
			}
		})
	}
}

func TestTLSCheckReportsAllProblems(t *testing.T) {
	ts := httptest.NewTLSServer(http.NotFoundHandler())
	defer ts.Close()
	res, err := NewTLSCheckExecutor(Options{RootCAs: x509.NewCertPool()}).Execute(context.Background(),
		tlsStep(ts.Listener.Addr().String(), "wrong.example.org", 14))
	if err != nil {
		t.Fatal(err)
	}
	p := strings.Join(res.Details.(*TLSDetails).Problems, "\n")
	if res.Succeeded() || !strings.Contains(p, "unknown authority") || !strings.Contains(p, "not valid for") {
		t.Errorf("problems: %s", p)
	}
	if _, err := NewTLSCheckExecutor(Options{}).Execute(context.Background(), execStep(time.Second, nil, "x")); err == nil {
		t.Error("tls executor accepted an exec step")
	}
}

func TestTLSCheckExpiredReportsDetails(t *testing.T) {
	ca := newCA(t, "Sitrep Test CA")
	notAfter := time.Now().Add(-48 * time.Hour).Truncate(time.Second)
	addr := serveTLS(t, ca.leaf(t, []string{"shop.example.test"}, notAfter.Add(-30*24*time.Hour), notAfter))
	res, err := NewTLSCheckExecutor(Options{RootCAs: ca.pool}).Execute(context.Background(), tlsStep(addr, "shop.example.test", 14))
	if err != nil {
		t.Fatal(err)
	}
	d := res.Details.(*TLSDetails)
	if res.Succeeded() || d.DaysLeft > -2 || !d.Chain[0].NotAfter.Equal(notAfter) ||
		d.Chain[0].DNSNames[0] != "shop.example.test" || !strings.Contains(d.Chain[0].Issuer, "Sitrep Test CA") ||
		!strings.Contains(d.Chain[1].Subject, "Sitrep Test CA") {
		t.Errorf("%s %+v", res.Summary, d)
	}
	if _, _, err := net.SplitHostPort(d.Address); err != nil {
		t.Error(err)
	}
}
