package kafka

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"
)

// connection is what the producer and the consumer share: where the
// brokers are and how to authenticate. The password is only ever handed to
// the SASL mechanism; it is never formatted into an error or a log.
type connection struct {
	brokers  []string
	clientID string
	username string
	password string
	tls      bool
}

// checkBrokers reports the first broker address that is not host:port.
func checkBrokers(field string, brokers []string) error {
	if len(brokers) == 0 {
		return fieldErr(field, "is empty; list at least one broker as host:port, e.g. [kafka1:9092]")
	}
	for i, b := range brokers {
		host, port, err := net.SplitHostPort(strings.TrimSpace(b))
		if err == nil && host == "" {
			err = fmt.Errorf("host is empty")
		}
		if err == nil {
			if p, perr := strconv.Atoi(port); perr != nil || p <= 0 || p > 65535 {
				err = fmt.Errorf("port %q is not a number from 1 to 65535", port)
			}
		}
		if err != nil {
			return fieldErr(fmt.Sprintf("%s[%d]", field, i), fmt.Sprintf("%q is not host:port (%v)", b, err))
		}
	}
	return nil
}

// checkCredentials wants a username and a password together.
// prefix is where the keys are ("kafka." for the sink, "" for a source).
func checkCredentials(prefix, username, password string) error {
	switch {
	case username != "" && password == "":
		return fieldErr(prefix+"password", "is empty while username is set; SASL/PLAIN needs both")
	case username == "" && password != "":
		return fieldErr(prefix+"username", "is empty while password is set; SASL/PLAIN needs both")
	}
	return nil
}

// opts are the client options common to producing and consuming.
func (c connection) opts(logger *slog.Logger) []kgo.Opt {
	brokers := make([]string, len(c.brokers))
	for i, b := range c.brokers {
		brokers[i] = strings.TrimSpace(b)
	}
	clientID := c.clientID
	if clientID == "" {
		clientID = "panoptes"
	}
	opts := []kgo.Opt{
		kgo.SeedBrokers(brokers...),
		kgo.ClientID(clientID),
		kgo.WithLogger(kgoLogger{logger}),
	}
	if c.tls {
		opts = append(opts, kgo.DialTLSConfig(&tls.Config{MinVersion: tls.VersionTLS12}))
	}
	if c.username != "" {
		opts = append(opts, kgo.SASL(plain.Auth{User: c.username, Pass: c.password}.AsMechanism()))
	}
	return opts
}

// kgoLogger passes franz-go's warnings and errors to slog. Its messages
// name brokers and topics, never credentials.
type kgoLogger struct{ l *slog.Logger }

func (k kgoLogger) Level() kgo.LogLevel { return kgo.LogLevelWarn }

func (k kgoLogger) Log(level kgo.LogLevel, msg string, keyvals ...any) {
	lvl := slog.LevelWarn
	if level == kgo.LogLevelError {
		lvl = slog.LevelError
	}
	k.l.Log(context.Background(), lvl, "kafka: "+msg, keyvals...)
}
