package client

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSuperTokenAndResolveJWT(t *testing.T) {
	tok := SuperToken("sec", "godump")
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("token %q", tok)
	}
	mac := hmac.New(sha256.New, []byte("sec"))
	mac.Write([]byte(parts[0] + "." + parts[1]))
	if base64.RawURLEncoding.EncodeToString(mac.Sum(nil)) != parts[2] {
		t.Error("signature is not HS256 with the secret")
	}
	claims, _ := base64.RawURLEncoding.DecodeString(parts[1])
	if string(claims) != `{"iss":"arangodb","server_id":"godump"}` {
		t.Errorf("claims %s", claims)
	}
	f := filepath.Join(t.TempDir(), "s")
	if err := os.WriteFile(f, []byte("  sec\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	o := DefaultOptions()
	o.JWTSecretFile = f
	if err := o.ResolveJWT(); err != nil || o.JWTSecret != "sec" {
		t.Errorf("ResolveJWT: %v %q", err, o.JWTSecret)
	}
	o.JWTToken = "x"
	if err := o.ResolveJWT(); err == nil || !strings.Contains(err.Error(), "cannot specify both") {
		t.Errorf("token and secret file together: %v", err)
	}
	o = DefaultOptions()
	o.MaxPacketSize = 1000
	if err := o.ResolveJWT(); err == nil {
		t.Error("--server.max-packet-size 1000 accepted")
	}
}
