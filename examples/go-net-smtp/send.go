// Send one message with Go's net/smtp, with retries done right.
//
// net/smtp speaks SMTP; it has no timeouts of its own (smtp.Dial dials without one and
// never sets a deadline) and never retries. This program dials with a timeout, gives every
// read and write a deadline, requires STARTTLS and verifies the certificate against -cafile,
// refuses RSA keys under 2048 bits, retries transient failures (4yz replies, dropped and
// reset connections, timeouts) with exponential backoff and full jitter, stops at once on
// permanent ones (5yz, a certificate that does not verify, STARTTLS not offered), and keeps
// one Message-ID for every attempt. With -user it logs in (AUTH PLAIN, only over TLS, on
// every new connection); -messages N sends N distinct messages, one after the other.
//
//	go build -o send . && ./send -host {host} -port {port} -tls {tls} -cafile {cafile}
//
// -defaults runs smtp.SendMail once, as the package documents it (no timeout, STARTTLS
// only when advertised, the system's CAs: point SSL_CERT_FILE at -cafile), to show what the
// library does out of the box. Exit code: 0 delivered, 1 gave up after transient failures,
// 2 permanent failure.
package main

import (
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"math"
	"math/rand"
	"net"
	"net/smtp"
	"net/textproto"
	"os"
	"strconv"
	"strings"
	"time"
)

type options struct {
	host, tls, cafile string
	port              int
	timeout           time.Duration
	attempts          int
	from              string
	to                []string
	user, password    string
}

// permanentError: retrying would not help; the server or the certificate said no for good.
type permanentError struct{ err error }

func (p permanentError) Error() string { return p.err.Error() }
func (p permanentError) Unwrap() error { return p.err }

func main() {
	var o options
	var timeoutS float64
	var to string
	defaults := flag.Bool("defaults", false, "smtp.SendMail once, with the package's defaults")
	flag.StringVar(&o.host, "host", "127.0.0.1", "server host")
	flag.IntVar(&o.port, "port", 25, "server port")
	flag.StringVar(&o.tls, "tls", "starttls", "none | starttls | implicit")
	flag.StringVar(&o.cafile, "cafile", "", "CA bundle to trust (default: the system's)")
	flag.Float64Var(&timeoutS, "timeout", 5, "per read or write, seconds")
	flag.IntVar(&o.attempts, "attempts", 8, "attempts before giving up")
	flag.StringVar(&o.from, "from", "app@example.org", "envelope sender")
	flag.StringVar(&to, "to", "user@example.org,bob@example.org", "recipients, comma-separated")
	flag.StringVar(&o.user, "user", os.Getenv("HARNESS_SMTP_USER"), "log in as (default: $HARNESS_SMTP_USER; none: no AUTH)")
	flag.StringVar(&o.password, "password", os.Getenv("HARNESS_SMTP_PASSWORD"), "password (default: $HARNESS_SMTP_PASSWORD)")
	messages := flag.Int("messages", envInt("HARNESS_SMTP_MESSAGES", 1), "distinct messages to send (default: $HARNESS_SMTP_MESSAGES, else 1)")
	flag.Parse()
	o.timeout = time.Duration(timeoutS * float64(time.Second))
	o.to = strings.Split(to, ",")

	rand.Seed(time.Now().UnixNano()) // math/rand's default seed is the same in every process
	worst := 0
	for n := 1; n <= *messages; n++ {
		message := []byte(strings.Join([]string{
			"From: " + o.from,
			"To: " + strings.Join(o.to, ", "),
			fmt.Sprintf("Subject: Welcome %d", n),
			// one id for every attempt, so a copy made by a retry can be recognised
			fmt.Sprintf("Message-ID: <%d.%d.%d@%s>", time.Now().UnixNano(), os.Getpid(), n, "example.org"),
			"Date: " + time.Now().Format(time.RFC1123Z),
			"",
			"Hello from Go's net/smtp.",
			"",
		}, "\r\n"))
		code := 0
		if *defaults {
			code = sendWithDefaults(o, message)
		} else {
			code = deliver(o, message)
		}
		if code > worst {
			worst = code
		}
	}
	os.Exit(worst)
}

// deliver sends one message, retrying transient failures; the exit code it earns.
func deliver(o options, message []byte) int {
	for attempt := 1; ; attempt++ {
		err := sendOnce(o, message)
		if err == nil {
			fmt.Printf("delivered on attempt %d\n", attempt)
			return 0
		}
		var permanent permanentError
		if errors.As(classify(err), &permanent) {
			fmt.Fprintf(os.Stderr, "permanent failure: %v\n", err)
			return 2
		}
		if attempt == o.attempts {
			fmt.Fprintf(os.Stderr, "gave up after %d attempts: %v\n", attempt, err)
			return 1
		}
		limit := math.Min(10, 0.2*math.Pow(2, float64(attempt-1)))
		delay := time.Duration(rand.Float64() * limit * float64(time.Second)) // full jitter
		fmt.Fprintf(os.Stderr, "attempt %d: %v; retrying in %v\n", attempt, err, delay)
		time.Sleep(delay)
	}
}

func envInt(name string, fallback int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return fallback
}

// tlsConfig verifies the server against cafile (or the system's CAs), TLS 1.2 or later,
// and refuses RSA keys under 2048 bits, which crypto/x509 accepts down to 1024.
func tlsConfig(o options) (*tls.Config, error) {
	config := &tls.Config{ServerName: o.host, MinVersion: tls.VersionTLS12}
	if o.cafile != "" {
		pem, err := os.ReadFile(o.cafile)
		if err != nil {
			return nil, permanentError{err}
		}
		config.RootCAs = x509.NewCertPool()
		if !config.RootCAs.AppendCertsFromPEM(pem) {
			return nil, permanentError{fmt.Errorf("no certificate in %s", o.cafile)}
		}
	}
	config.VerifyConnection = func(state tls.ConnectionState) error {
		for _, cert := range state.PeerCertificates {
			if key, ok := cert.PublicKey.(*rsa.PublicKey); ok && key.N.BitLen() < 2048 {
				return weakKeyError{cert.Subject.String(), key.N.BitLen()}
			}
		}
		return nil
	}
	return config, nil
}

type weakKeyError struct {
	subject string
	bits    int
}

func (w weakKeyError) Error() string {
	return fmt.Sprintf("%s has an RSA key of %d bits", w.subject, w.bits)
}

// sendOnce makes one attempt on a new connection, under one deadline.
func sendOnce(o options, message []byte) error {
	config, err := tlsConfig(o)
	if err != nil {
		return err
	}
	address := net.JoinHostPort(o.host, strconv.Itoa(o.port))
	raw, err := net.DialTimeout("tcp", address, o.timeout)
	if err != nil {
		return err
	}
	// net/smtp has no timeouts: every read and write gets its own deadline
	var conn net.Conn = idleTimeout{raw, o.timeout}
	if o.tls == "implicit" {
		secure := tls.Client(conn, config)
		if err := secure.Handshake(); err != nil {
			raw.Close()
			return err
		}
		conn = secure
	}
	defer conn.Close()                          // on every path: a failed attempt sends nothing more
	client, err := smtp.NewClient(conn, o.host) // reads the greeting
	if err != nil {
		return err
	}
	if err := client.Hello("client.example.org"); err != nil {
		return err
	}
	if o.tls == "starttls" {
		if ok, _ := client.Extension("STARTTLS"); !ok {
			return permanentError{errors.New("the server offers no STARTTLS; not sending in clear")}
		}
		if err := client.StartTLS(config); err != nil {
			return err
		}
	}
	if o.user != "" {
		secure := o.tls != "none" // only over TLS: PlainAuth would also send in clear to 127.0.0.1
		if ok, _ := client.Extension("AUTH"); ok && secure {
			if err := client.Auth(smtp.PlainAuth("", o.user, o.password, o.host)); err != nil {
				return err // 535: permanent (5yz); 454, 421: retried on a new connection
			}
		}
	}
	if err := client.Mail(o.from); err != nil {
		return err
	}
	accepted := 0
	var refused error
	for _, rcpt := range o.to {
		if err := client.Rcpt(rcpt); err != nil {
			if !isReply(err, 5) {
				return err // a 4yz or a broken connection: the whole transaction again
			}
			fmt.Fprintf(os.Stderr, "refused recipient %s: %v\n", rcpt, err)
			refused = err
			continue
		}
		accepted++
	}
	if accepted == 0 {
		return refused
	}
	body, err := client.Data()
	if err != nil {
		return err
	}
	if _, err := body.Write(message); err != nil {
		return err
	}
	if err := body.Close(); err != nil { // the reply to the final dot
		return err
	}
	_ = client.Quit() // the 250 came: a failing QUIT changes nothing
	return nil
}

// idleTimeout gives each read and write a deadline of its own: a timeout per command, as
// a slow but live server (one reply every few hundred milliseconds) must not trip it.
type idleTimeout struct {
	net.Conn
	timeout time.Duration
}

func (c idleTimeout) Read(p []byte) (int, error) {
	if err := c.Conn.SetDeadline(time.Now().Add(c.timeout)); err != nil {
		return 0, err
	}
	return c.Conn.Read(p)
}

func (c idleTimeout) Write(p []byte) (int, error) {
	if err := c.Conn.SetDeadline(time.Now().Add(c.timeout)); err != nil {
		return 0, err
	}
	return c.Conn.Write(p)
}

// isReply: err is an SMTP reply of the given class (4 or 5).
func isReply(err error, class int) bool {
	var reply *textproto.Error
	return errors.As(err, &reply) && reply.Code/100 == class
}

// classify returns err if it is worth a retry, a permanentError otherwise.
func classify(err error) error {
	var permanent permanentError
	var unknownAuthority x509.UnknownAuthorityError
	var hostname x509.HostnameError
	var invalid x509.CertificateInvalidError
	var insecure x509.InsecureAlgorithmError
	var weak weakKeyError
	switch {
	case errors.As(err, &permanent):
		return err
	case isReply(err, 5):
		return permanentError{err}
	case errors.As(err, &unknownAuthority), errors.As(err, &hostname),
		errors.As(err, &invalid), errors.As(err, &insecure), errors.As(err, &weak):
		return permanentError{err} // the certificate: the same one comes back next time
	}
	return err // 4yz, EOF, reset, timeout, a handshake that broke
}

// sendWithDefaults: smtp.SendMail as documented (implicit TLS has no helper: tls.Dial and
// the same steps), one attempt, no deadline.
func sendWithDefaults(o options, message []byte) int {
	address := net.JoinHostPort(o.host, strconv.Itoa(o.port))
	var err error
	if o.tls == "implicit" {
		err = sendImplicitWithDefaults(o, address, message)
	} else {
		var auth smtp.Auth
		if o.user != "" {
			auth = smtp.PlainAuth("", o.user, o.password, o.host)
		}
		err = smtp.SendMail(address, auth, o.from, o.to, message)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "failed: %v\n", err)
		return 1
	}
	fmt.Println("delivered")
	return 0
}

func sendImplicitWithDefaults(o options, address string, message []byte) error {
	conn, err := tls.Dial("tcp", address, &tls.Config{ServerName: o.host})
	if err != nil {
		return err
	}
	client, err := smtp.NewClient(conn, o.host)
	if err != nil {
		return err
	}
	defer client.Close()
	if ok, _ := client.Extension("AUTH"); ok && o.user != "" {
		if err := client.Auth(smtp.PlainAuth("", o.user, o.password, o.host)); err != nil {
			return err
		}
	}
	if err := client.Mail(o.from); err != nil {
		return err
	}
	for _, rcpt := range o.to {
		if err := client.Rcpt(rcpt); err != nil {
			return err
		}
	}
	body, err := client.Data()
	if err != nil {
		return err
	}
	if _, err := body.Write(message); err != nil {
		return err
	}
	if err := body.Close(); err != nil {
		return err
	}
	return client.Quit()
}
