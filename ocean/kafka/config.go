package kafka

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/oceankit/oceankit/ocean/settings"
	"github.com/oceankit/oceankit/port"
)

// DefaultBrokers returns Port's public Kafka brokers (Ocean's default).
func DefaultBrokers() []string {
	return []string{
		"b-1-public.publicclusterprod.t9rw6w.c1.kafka.eu-west-1.amazonaws.com:9196",
		"b-2-public.publicclusterprod.t9rw6w.c1.kafka.eu-west-1.amazonaws.com:9196",
		"b-3-public.publicclusterprod.t9rw6w.c1.kafka.eu-west-1.amazonaws.com:9196",
	}
}

// Security protocols, as Kafka names them.
const (
	ProtocolPlaintext     = "PLAINTEXT"
	ProtocolSSL           = "SSL"
	ProtocolSASLPlaintext = "SASL_PLAINTEXT"
	ProtocolSASLSSL       = "SASL_SSL"
)

// SASL mechanisms.
const (
	MechanismScramSHA512 = "SCRAM-SHA-512"
	MechanismScramSHA256 = "SCRAM-SHA-256"
	MechanismPlain       = "PLAIN"
)

// FlagResyncRequestsTopic is the organisation feature flag that moves
// resync requests to {orgId}.integration.resync.requests.
const FlagResyncRequestsTopic = "OCEAN_KAFKA_INTEGRATION_RESYNC_REQUESTS_TOPIC_ENABLED"

// PortAPI is what the listener asks Port. *port.Client implements it.
type PortAPI interface {
	GetOrganization(ctx context.Context) (*port.Organization, error)
	GetKafkaCredentials(ctx context.Context) (*port.KafkaCredentials, error)
}

// Config configures a Listener. Only IntegrationType and
// IntegrationIdentifier are required; ConfigFromOcean fills it from Ocean's
// settings.
type Config struct {
	// IntegrationType and IntegrationIdentifier name the integration: they
	// pick the consumer group and the messages that concern it.
	IntegrationType       string
	IntegrationIdentifier string

	// Brokers are host:port addresses (default DefaultBrokers()).
	Brokers []string
	// SecurityProtocol is PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL
	// (default SASL_SSL).
	SecurityProtocol string
	// Mechanism is the SASL mechanism: SCRAM-SHA-512 (default),
	// SCRAM-SHA-256 or PLAIN.
	Mechanism string
	// DisableSecurity connects in plaintext without credentials, whatever
	// SecurityProtocol says (Ocean's KAFKA_SECURITY_ENABLED=false).
	DisableSecurity bool
	// Username and Password are the SASL credentials. When Username is
	// empty they are fetched from Port on every (re)connection.
	Username string
	Password settings.Secret
	// TLS is the TLS configuration for SSL protocols (default: system roots).
	TLS *tls.Config

	// OrgID is the Port organisation id. When empty it is read from Port,
	// along with the flag that chooses the topic.
	OrgID string
	// ResyncRequestsTopic consumes {orgId}.integration.resync.requests
	// instead of {orgId}.change.log. It is only read when OrgID is set;
	// otherwise the organisation's feature flag decides.
	ResyncRequestsTopic bool

	// PollTimeout is how long the broker may hold a fetch open when there is
	// nothing to read (Ocean's CONSUMER_POLL_TIMEOUT; default 1s).
	PollTimeout time.Duration
	// ResyncOnStart asks for a resync (one that waits for a running one)
	// when the listener starts: a trigger accepted just before a crash is
	// then not lost. Ocean's KAFKA listener does not.
	ResyncOnStart bool
	// MinBackoff and MaxBackoff bound the wait before reconnecting after an
	// error the Kafka client cannot recover from (defaults 1s and 1m).
	MinBackoff, MaxBackoff time.Duration
	// JoinTimeout is how long the consumer may stay out of its group (not
	// yet joined, or thrown out by a fatal group error) before the client
	// is closed and a new one connects with fresh credentials (default
	// 2m, more than a rebalance may take). Some brokers answer refused
	// credentials by closing the connection, which the client retries
	// forever; this is what gets the listener out of that.
	JoinTimeout time.Duration

	// Port is the Port API to read the organisation and the credentials
	// from. When nil, the Trigger given to Start is used if it has a
	// Port() *port.Client method, as *ocean.App has.
	Port PortAPI
	// Logger receives the listener's logs (slog.Default() otherwise). When
	// nil and the Trigger has a Logger() *slog.Logger method (as *ocean.App
	// has), that one is used.
	Logger *slog.Logger

	// extra are client options tests append (timeouts, start offset).
	extra []kgo.Opt
}

// ConfigFromOcean builds a Config from Ocean's settings
// (OCEAN__EVENT_LISTENER__BROKERS, SECURITY_PROTOCOL,
// AUTHENTICATION_MECHANISM, KAFKA_SECURITY_ENABLED, CONSUMER_POLL_TIMEOUT and
// the integration's type and identifier). BROKERS may be comma-separated or
// a JSON array, as Ocean accepts.
func ConfigFromOcean(c *settings.Config) (Config, error) {
	if c == nil {
		return Config{}, errors.New("kafka: no config")
	}
	el := c.EventListener
	brokers, err := parseBrokers(el.Brokers)
	if err != nil {
		return Config{}, &settings.ConfigError{Name: "OCEAN__EVENT_LISTENER__BROKERS", Reason: err.Error()}
	}
	// A config built in code skipped Load's range check; a negative or
	// endless poll timeout must not reach the client.
	pt := el.ConsumerPollTimeout
	if math.IsNaN(pt) || math.IsInf(pt, 0) || pt <= 0 || pt > float64(math.MaxInt64/int64(time.Second)) {
		return Config{}, &settings.ConfigError{Name: "OCEAN__EVENT_LISTENER__CONSUMER_POLL_TIMEOUT", Reason: "must be a positive, finite number of seconds"}
	}
	return Config{
		IntegrationType:       c.Integration.Type,
		IntegrationIdentifier: c.Integration.Identifier,
		Brokers:               brokers,
		SecurityProtocol:      el.SecurityProtocol,
		Mechanism:             el.AuthenticationMechanism,
		DisableSecurity:       !el.KafkaSecurityEnabled,
		PollTimeout:           time.Duration(el.ConsumerPollTimeout * float64(time.Second)),
	}, nil
}

func parseBrokers(s string) ([]string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	var list []string
	if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		if err := json.Unmarshal([]byte(s), &list); err != nil {
			return nil, errors.New("not a JSON array of strings")
		}
	} else {
		list = strings.Split(s, ",")
	}
	out := make([]string, 0, len(list))
	for i, b := range list {
		if b = strings.TrimSpace(b); b == "" {
			continue
		}
		// The broker is not quoted: a mistaken URL may carry credentials.
		host, port, err := net.SplitHostPort(b)
		if err != nil || host == "" || port == "" || strings.ContainsAny(b, "/@") {
			return nil, fmt.Errorf("broker %d is not host:port", i+1)
		}
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("broker %d has no valid port", i+1)
		}
		out = append(out, b)
	}
	return out, nil
}

// withDefaults returns a copy of c with defaults applied, or the first
// problem found.
func (c Config) withDefaults() (Config, error) {
	if c.IntegrationType == "" || c.IntegrationIdentifier == "" {
		return c, errors.New("kafka: IntegrationType and IntegrationIdentifier are required")
	}
	if len(c.Brokers) == 0 {
		c.Brokers = DefaultBrokers()
	}
	c.SecurityProtocol = strings.ToUpper(strings.TrimSpace(c.SecurityProtocol))
	if c.SecurityProtocol == "" {
		c.SecurityProtocol = ProtocolSASLSSL
	}
	switch c.SecurityProtocol {
	case ProtocolPlaintext, ProtocolSSL, ProtocolSASLPlaintext, ProtocolSASLSSL:
	default:
		return c, &settings.ConfigError{Name: "OCEAN__EVENT_LISTENER__SECURITY_PROTOCOL",
			Reason: fmt.Sprintf("unknown protocol %q (want PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL)", c.SecurityProtocol)}
	}
	c.Mechanism = strings.ToUpper(strings.TrimSpace(c.Mechanism))
	if c.Mechanism == "" {
		c.Mechanism = MechanismScramSHA512
	}
	switch c.Mechanism {
	case MechanismScramSHA512, MechanismScramSHA256, MechanismPlain:
	default:
		return c, &settings.ConfigError{Name: "OCEAN__EVENT_LISTENER__AUTHENTICATION_MECHANISM",
			Reason: fmt.Sprintf("unknown mechanism %q (want SCRAM-SHA-512, SCRAM-SHA-256 or PLAIN)", c.Mechanism)}
	}
	if c.DisableSecurity {
		c.SecurityProtocol = ProtocolPlaintext
	}
	if c.PollTimeout <= 0 {
		c.PollTimeout = time.Second
	}
	if c.MinBackoff <= 0 {
		c.MinBackoff = time.Second
	}
	if c.MaxBackoff <= 0 {
		c.MaxBackoff = time.Minute
	}
	if c.JoinTimeout <= 0 {
		c.JoinTimeout = 2 * time.Minute
	}
	if c.MaxBackoff < c.MinBackoff {
		c.MaxBackoff = c.MinBackoff
	}
	return c, nil
}

func (c *Config) sasl() bool {
	return c.SecurityProtocol == ProtocolSASLPlaintext || c.SecurityProtocol == ProtocolSASLSSL
}

func (c *Config) tls() bool {
	return c.SecurityProtocol == ProtocolSSL || c.SecurityProtocol == ProtocolSASLSSL
}

// Group returns the consumer group of an integration in an organisation.
func Group(orgID, integrationType, identifier string) string {
	return orgID + "." + integrationType + "." + identifier
}

// Topic returns the topic the listener consumes.
func Topic(orgID string, resyncRequests bool) string {
	if resyncRequests {
		return orgID + resyncRequestsSuffix
	}
	return orgID + changeLogSuffix
}

const (
	changeLogSuffix      = ".change.log"
	resyncRequestsSuffix = ".integration.resync.requests"
)
