package host_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/podiumhq/podium/internal/host"
	"github.com/podiumhq/podium/media/rtcapi"
	"github.com/podiumhq/podium/signaling/client"
	"github.com/podiumhq/podium/signaling/protocol"
)

// selfSigned writes a certificate for 127.0.0.1 and its key to dir.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "podium test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	_ = os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	_ = os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// TestTLS: with a certificate the host serves HTTPS and wss:// (a join
// works over it) and refuses plain HTTP on the same port.
func TestTLS(t *testing.T) {
	certFile, keyFile, pool := selfSigned(t, t.TempDir())
	h, err := host.Start(host.Config{Addr: "127.0.0.1:0", Secret: []byte("host-test-secret-012345"), API: rtcapi.Options{LoopbackOnly: true},
		TLSCert: certFile, TLSKey: keyFile})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Shutdown(context.Background())
	if !strings.HasPrefix(h.URL(), "wss://") {
		t.Fatalf("URL %s", h.URL())
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}, Timeout: 5 * time.Second}
	resp, err := hc.Get("https://" + h.Addr() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("healthz over TLS: %s", resp.Status)
	}
	if resp, err := (&http.Client{Timeout: 5 * time.Second}).Get("http://" + h.Addr() + "/healthz"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Fatal("plain HTTP served on the TLS port")
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := client.DialWith(ctx, h.URL(), &websocket.DialOptions{HTTPClient: hc})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	tok, _ := h.Tokens.Issue("tls", "p1", "P1", protocol.RoleHost, time.Minute)
	if _, err := c.Send(ctx, protocol.TypeJoin, protocol.JoinBody{Token: tok, SignalingOnly: true}); err != nil {
		t.Fatal(err)
	}
	for env := range c.Messages() {
		if env.Type == protocol.TypeJoined {
			return
		}
		if env.Type == protocol.TypeError {
			t.Fatalf("join over wss: %s", env.Body)
		}
	}
	t.Fatalf("connection closed: %v", c.Err())
}

// TestPlainHTTPOnlyOnLoopback: without a certificate the host refuses a
// non-loopback listen address unless it is behind a proxy.
func TestPlainHTTPOnlyOnLoopback(t *testing.T) {
	// Refused before anything listens.
	_, err := host.Start(host.Config{Addr: "0.0.0.0:0", Secret: []byte("host-test-secret-012345")})
	if err == nil || !strings.Contains(err.Error(), "--tls-cert") {
		t.Fatalf("plain HTTP on 0.0.0.0: %v, want a refusal naming --tls-cert", err)
	}
	for addr, ok := range map[string]bool{"127.0.0.1:7880": true, "[::1]:7880": true, "localhost:7880": true,
		"0.0.0.0:7880": false, ":7880": false, "192.0.2.10:7880": false, "[2001:db8::1]:443": false} {
		if err := host.CheckPlainHTTP(addr, false); (err == nil) != ok {
			t.Errorf("CheckPlainHTTP(%s) = %v, want allowed=%v", addr, err, ok)
		}
		if err := host.CheckPlainHTTP(addr, true); err != nil {
			t.Errorf("behind a proxy, %s refused: %v", addr, err)
		}
	}
	if _, err := host.Start(host.Config{Addr: "127.0.0.1:0", Secret: []byte("host-test-secret-012345"), TLSCert: "x.pem"}); err == nil {
		t.Fatal("a certificate without a key was accepted")
	}
}
