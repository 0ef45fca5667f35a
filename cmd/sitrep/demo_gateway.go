package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"
)

// demoDomain is the name the demo gateway serves the Platform API under.
const demoDomain = "platform.olla.example"

// demoGateway stands in for the seed's API gateway (a reverse proxy with
// automatic certificate management), on loopback over HTTPS. It serves
// the Platform API until its daily certificate renewal writes an invalid
// configuration, then answers 500 for it, although the certificate it
// presents stays valid and unexpired throughout, as in the seed. Its admin
// endpoint re-orders the certificate without installing it, which rewrites
// the configuration and brings the API back.
type demoGateway struct {
	srv   *httptest.Server
	roots *x509.CertPool // trusts the gateway's certificate
	leaf  *x509.Certificate

	mu     sync.Mutex
	config string // the route's certificate line; broken when it names a partial file
	broken bool
	orders int
}

// Gateway configurations: the good one, and the one the failed renewal
// leaves behind (it points at a half-written file).
const (
	gatewayGoodConfig   = "ssl_certificate /etc/gateway/live/" + demoDomain + "/fullchain.pem"
	gatewayBrokenConfig = "ssl_certificate /etc/gateway/renewal/" + demoDomain + "/fullchain.pem.part"
)

// startDemoGateway starts the gateway with a certificate issued by its own
// CA at issued (the renewal's time), valid for 90 days.
func startDemoGateway(issued time.Time) (*demoGateway, error) {
	certs, roots, leaf, err := demoCertificate(issued)
	if err != nil {
		return nil, fmt.Errorf("demo gateway certificate: %w", err)
	}
	g := &demoGateway{roots: roots, leaf: leaf, config: gatewayGoodConfig}
	mux := http.NewServeMux()
	mux.HandleFunc("/v1/", g.serveAPI)
	mux.HandleFunc("POST /admin/certificates/reorder", g.serveReorder)
	g.srv = httptest.NewUnstartedServer(mux)
	g.srv.TLS = &tls.Config{Certificates: []tls.Certificate{certs}, MinVersion: tls.VersionTLS12}
	g.srv.Config.ErrorLog = log.New(io.Discard, "", 0) // probes that close after the handshake are not errors
	g.srv.StartTLS()
	return g, nil
}

// Addr is the gateway's host:port on loopback.
func (g *demoGateway) Addr() string { return g.srv.Listener.Addr().String() }

// Close stops the gateway.
func (g *demoGateway) Close() { g.srv.Close() }

// renewCertificate is the daily automatic renewal of the unexpired
// certificate. In the seed it failed half way and left an invalid
// configuration behind; so does this one. The served certificate is not
// touched.
func (g *demoGateway) renewCertificate() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.config, g.broken = gatewayBrokenConfig, true
}

// serveAPI answers the Platform API: 200 with a good configuration, 500
// while the route's configuration is invalid.
func (g *demoGateway) serveAPI(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	broken, config := g.broken, g.config
	g.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if broken {
		w.WriteHeader(http.StatusInternalServerError)
		fmt.Fprintf(w, `{"error":"route platform-api: invalid upstream TLS configuration (%s)"}`+"\n", config)
		return
	}
	fmt.Fprintln(w, `{"status":"ok","service":"platform-api"}`)
}

// serveReorder orders a new certificate for a domain without installing
// it: the certificate manager writes a fresh, valid configuration as it
// does so.
func (g *demoGateway) serveReorder(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Domain  string `json:"domain"`
		Install *bool  `json:"install"`
	}
	w.Header().Set("Content-Type", "application/json")
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&req); err != nil || req.Domain == "" || req.Install == nil {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintln(w, `{"error":"send {\"domain\": \"...\", \"install\": false}"}`)
		return
	}
	if req.Domain != demoDomain {
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprintf(w, `{"error":"no certificate is managed for %q"}`+"\n", req.Domain)
		return
	}
	if *req.Install {
		w.WriteHeader(http.StatusConflict)
		fmt.Fprintln(w, `{"error":"this gateway only re-orders here; installing is a separate action"}`)
		return
	}
	g.mu.Lock()
	g.orders++
	order := g.orders
	g.config, g.broken = gatewayGoodConfig, false
	g.mu.Unlock()
	fmt.Fprintf(w, `{"domain":%q,"order":"order-%d","installed":false,"configuration":"rewritten: %s"}`+"\n",
		req.Domain, order, gatewayGoodConfig)
}

// demoCertificate makes a CA and a leaf for demoDomain (and 127.0.0.1, the
// address runbook probes reach it at), issued at issued for 90 days.
func demoCertificate(issued time.Time) (tls.Certificate, *x509.CertPool, *x509.Certificate, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, nil, err
	}
	ca := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Olla Demo CA", Organization: []string{"sitrep demo"}},
		NotBefore: issued.AddDate(-1, 0, 0), NotAfter: issued.AddDate(5, 0, 0),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		return tls.Certificate{}, nil, nil, err
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return tls.Certificate{}, nil, nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(issued.Unix()), Subject: pkix.Name{CommonName: demoDomain},
		DNSNames:    []string{demoDomain, strings.Replace(demoDomain, "platform.", "api.", 1)},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:   issued, NotAfter: issued.AddDate(0, 0, 90),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		return tls.Certificate{}, nil, nil, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, nil, nil, err
	}
	roots := x509.NewCertPool()
	roots.AddCert(caCert)
	return tls.Certificate{Certificate: [][]byte{der, caDER}, PrivateKey: key, Leaf: leaf}, roots, leaf, nil
}
