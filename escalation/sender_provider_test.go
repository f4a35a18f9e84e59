package escalation

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// provider is a real SMTP server on loopback standing in for the mail
// provider: it records every message it accepts, and can refuse on demand.
type provider struct {
	t        *testing.T
	srv      *smtp.Server
	addr     string
	received chan struct{} // one value per accepted message

	mu        sync.Mutex
	msgs      []receivedMail
	failData  int // answer DATA with 451 this many more times
	rcptCode  int // answer RCPT with this code when not 0
	dataCalls int
	user      string // AUTH PLAIN required when set
	pass      string
	authed    []string
	delay     time.Duration // before accepting DATA
}

type receivedMail struct {
	from string
	to   []string
	data []byte
	tls  bool
}

// newProvider returns a provider not listening yet; start it with listen.
func newProvider(t *testing.T) *provider {
	p := &provider{t: t, received: make(chan struct{}, 1000)}
	p.srv = smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &providerSession{p: p, conn: c}, nil
	}))
	p.srv.Domain = "provider.test"
	p.srv.ErrorLog = discardLogger{}
	return p
}

// startProvider starts a provider on a free loopback port.
func startProvider(t *testing.T) *provider {
	p := newProvider(t)
	p.listen("127.0.0.1:0")
	return p
}

func (p *provider) listen(addr string) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		p.t.Fatal(err)
	}
	p.addr = l.Addr().String()
	go p.srv.Serve(l)
	p.t.Cleanup(func() { p.srv.Close() })
}

func (p *provider) messages() []receivedMail {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]receivedMail(nil), p.msgs...)
}

// waitFor waits until n messages arrived, or fails the test.
func (p *provider) waitFor(n int) []receivedMail {
	p.t.Helper()
	deadline := time.After(10 * time.Second)
	for len(p.messages()) < n {
		select {
		case <-p.received:
		case <-deadline:
			p.t.Fatalf("provider: got %d messages, want %d", len(p.messages()), n)
		}
	}
	return p.messages()
}

type providerSession struct {
	p    *provider
	conn *smtp.Conn
	from string
	to   []string
}

func (s *providerSession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *providerSession) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if username != s.p.user || password != s.p.pass {
			return errors.New("bad credentials")
		}
		s.p.mu.Lock()
		s.p.authed = append(s.p.authed, username)
		s.p.mu.Unlock()
		return nil
	}), nil
}

func (s *providerSession) Mail(from string, _ *smtp.MailOptions) error {
	s.p.mu.Lock()
	defer s.p.mu.Unlock()
	if s.p.user != "" && len(s.p.authed) == 0 {
		return smtp.ErrAuthRequired
	}
	s.from = from
	return nil
}

func (s *providerSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.p.mu.Lock()
	defer s.p.mu.Unlock()
	if s.p.rcptCode != 0 {
		return &smtp.SMTPError{Code: s.p.rcptCode, Message: "No such user here"}
	}
	s.to = append(s.to, to)
	return nil
}

func (s *providerSession) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.p.mu.Lock()
	s.p.dataCalls++
	if s.p.failData > 0 {
		s.p.failData--
		s.p.mu.Unlock()
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Try again later"}
	}
	delay := s.p.delay
	s.p.mu.Unlock()
	time.Sleep(delay)
	s.p.mu.Lock()
	_, isTLS := s.conn.TLSConnectionState()
	s.p.msgs = append(s.p.msgs, receivedMail{from: s.from, to: s.to, data: data, tls: isTLS})
	s.p.mu.Unlock()
	s.p.received <- struct{}{}
	return nil
}

func (s *providerSession) Reset()        { s.from, s.to = "", nil }
func (s *providerSession) Logout() error { return nil }

type discardLogger struct{}

func (discardLogger) Printf(string, ...any) {}
func (discardLogger) Println(...any)        {}

// selfSigned returns a server certificate for 127.0.0.1 and a pool that
// trusts it.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "provider.test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool
}
