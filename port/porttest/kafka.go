package porttest

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
)

// RouteKafkaCredentials is the route of the KAFKA listener's credentials.
const RouteKafkaCredentials = "GET /v1/kafka-credentials"

// KafkaCredentials returns the Kafka SASL username and password the server
// answers on GET /v1/kafka-credentials. They are derived from the server's
// client credentials, so a test can seed a fake Kafka cluster with them
// before the code under test asks Port.
func (s *Server) KafkaCredentials() (username, password string) {
	sum := sha256.Sum256([]byte("kafka\x00" + s.ClientSecret))
	return "kafka-" + s.ClientID, hex.EncodeToString(sum[:16])
}

func (s *Server) handleKafkaCredentials(w http.ResponseWriter, _ *call) {
	user, pass := s.KafkaCredentials()
	writeJSON(w, http.StatusOK, map[string]any{"ok": true,
		"credentials": map[string]any{"username": user, "password": pass}})
}
