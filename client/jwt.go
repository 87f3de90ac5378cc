package client

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
)

// SuperToken is the superuser JWT the ArangoDB tools make from a JWT secret
// (--server.jwt-secret-keyfile, --server.ask-jwt-secret; fuerte::jwt::generateSuperToken):
// HS256 over {"iss":"arangodb","server_id":...}, without an expiry.
func SuperToken(secret, serverID string) string {
	enc := base64.RawURLEncoding
	header := enc.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))
	claims, _ := json.Marshal(map[string]string{"iss": "arangodb", "server_id": serverID})
	payload := header + "." + enc.EncodeToString(claims)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(payload))
	return payload + "." + enc.EncodeToString(mac.Sum(nil))
}

// ResolveJWT checks the JWT options against each other as ClientFeature::validateOptions
// does and reads --server.jwt-secret-keyfile into JWTSecret. Connect signs a superuser token
// with JWTSecret when no --server.jwt-token is given.
func (o *Options) ResolveJWT() error {
	if o.JWTToken != "" && (o.JWTSecretFile != "" || o.AskJWTSecret) {
		return optionError{errors.New("cannot specify both --server.jwt-token and --server.jwt-secret-keyfile or --server.ask-jwt-secret")}
	}
	if o.MaxPacketSize != 0 && o.MaxPacketSize < 1<<20 {
		return optionError{errors.New("invalid value for --server.max-packet-size, must be at least 1 MB")}
	}
	if o.JWTSecretFile == "" {
		return nil
	}
	b, err := os.ReadFile(o.JWTSecretFile)
	if err != nil {
		return optionError{fmt.Errorf("read --server.jwt-secret-keyfile: %w", err)}
	}
	o.JWTSecret = strings.TrimSpace(string(b))
	if o.JWTSecret == "" {
		return optionError{fmt.Errorf("--server.jwt-secret-keyfile %s is empty", o.JWTSecretFile)}
	}
	return nil
}
