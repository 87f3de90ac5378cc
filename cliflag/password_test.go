package cliflag

import (
	"bytes"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

// TestAskPassword: the password is asked for only on a terminal, with authentication on and
// no password, JWT or environment variable given (issue 12 point 11, issue 13 point 2).
func TestAskPassword(t *testing.T) {
	for _, tc := range []struct {
		name     string
		args     []string
		env      string
		jwt      string
		auth     bool
		terminal bool
		asked    bool
	}{
		{"terminal, nothing given", nil, "", "", true, true, true},
		{"no terminal", nil, "", "", true, false, false},
		{"--server.password given", []string{"--server.password", "x"}, "", "", true, true, false},
		{"empty --server.password given", []string{"--server.password", ""}, "", "", true, true, false},
		{"ARANGO_PASSWORD set", nil, "fromenv", "", true, true, false},
		{"JWT given", nil, "", "tok", true, true, false},
		{"authentication off", nil, "", "", false, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("ARANGO_PASSWORD", tc.env)
			fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
			var pw string
			fs.StringVar(&pw, "server.password", "", "")
			if err := fs.Parse(tc.args); err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			reads := 0
			p := PasswordPrompt{IsTerminal: func() bool { return tc.terminal },
				Read: func() ([]byte, error) { reads++; return []byte("s3cret\n"), nil }, Out: &out}
			c := Credentials{Authentication: tc.auth, JWTToken: tc.jwt, Username: "root", Password: &pw, PasswordEnv: "ARANGO_PASSWORD"}
			if err := AskPassword(fs, c, p); err != nil {
				t.Fatal(err)
			}
			if asked := reads == 1; asked != tc.asked {
				t.Fatalf("asked %v, want %v (prompt %q)", asked, tc.asked, out.String())
			}
			if tc.asked && (pw != "s3cret" || !bytes.Contains(out.Bytes(), []byte(`Please specify a password for user "root": `)) || bytes.Contains(out.Bytes(), []byte("s3cret"))) {
				t.Fatalf("password %q, prompt %q", pw, out.String())
			}
			if !tc.asked && out.Len() > 0 {
				t.Fatalf("printed %q without asking", out.String())
			}
		})
	}
}

func TestAskTokenAndSecret(t *testing.T) {
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	var out strings.Builder
	p := PasswordPrompt{IsTerminal: func() bool { return true }, Read: func() ([]byte, error) { return []byte("answer\n"), nil }, Out: &out}
	tok := "-"
	if err := AskPassword(fs, Credentials{Authentication: true, JWTToken: tok, Token: &tok}, p); err != nil || tok != "answer" || !strings.Contains(out.String(), "Please specify a JWT token: ") {
		t.Errorf("token: %v %q %q", err, tok, out.String())
	}
	var secret string
	out.Reset()
	if err := AskPassword(fs, Credentials{Authentication: true, AskJWTSecret: true, JWTSecret: &secret}, p); err != nil || secret != "answer" || !strings.Contains(out.String(), "Please specify the JWT secret: ") {
		t.Errorf("secret: %v %q %q", err, secret, out.String())
	}
	p.IsTerminal = func() bool { return false }
	if err := AskPassword(fs, Credentials{AskJWTSecret: true, JWTSecret: &secret}, p); err == nil {
		t.Error("asked for a secret without a terminal")
	}
}
