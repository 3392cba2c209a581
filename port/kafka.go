package port

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
)

// KafkaCredentials are the SASL credentials Port hands an integration for
// its Kafka change stream. String, GoString and LogValue hide the password,
// so printing or logging the value does not leak it.
type KafkaCredentials struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

// String redacts the password.
func (k KafkaCredentials) String() string {
	return fmt.Sprintf("{username:%s password:%s}", k.Username, redactedIfSet(k.Password))
}

// GoString redacts the password for %#v.
func (k KafkaCredentials) GoString() string {
	return fmt.Sprintf("port.KafkaCredentials{Username:%q, Password:%q}", k.Username, redactedIfSet(k.Password))
}

// LogValue redacts the password in slog output.
func (k KafkaCredentials) LogValue() slog.Value {
	return slog.GroupValue(slog.String("username", k.Username), slog.String("password", redactedIfSet(k.Password)))
}

func redactedIfSet(s string) string {
	if s == "" {
		return ""
	}
	return "[REDACTED]"
}

// GetKafkaCredentials returns the credentials of the organisation's Kafka
// change stream (GET /v1/kafka-credentials), used by the KAFKA event
// listener.
func (c *Client) GetKafkaCredentials(ctx context.Context) (*KafkaCredentials, error) {
	var env struct {
		Credentials *KafkaCredentials `json:"credentials"`
	}
	if err := c.get(ctx, "/kafka-credentials", nil, &env); err != nil {
		return nil, err
	}
	if env.Credentials == nil || env.Credentials.Username == "" {
		return nil, errors.New("port: get kafka credentials: answer has no credentials")
	}
	return env.Credentials, nil
}
