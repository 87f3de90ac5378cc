package cliflag

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/pflag"
	"golang.org/x/term"
)

// PasswordPrompt is how AskPassword reads a password; tests replace it.
type PasswordPrompt struct {
	IsTerminal func() bool            // stdin is a terminal
	Read       func() ([]byte, error) // reads one line without echo
	Out        io.Writer              // where the question goes (stderr)
}

// TerminalPrompt asks on the process's terminal: stdin, without echo (x/term).
func TerminalPrompt() PasswordPrompt {
	fd := int(os.Stdin.Fd())
	return PasswordPrompt{
		IsTerminal: func() bool { return term.IsTerminal(fd) },
		Read:       func() ([]byte, error) { return term.ReadPassword(fd) },
		Out:        os.Stderr,
	}
}

// Credentials are the connection options AskPassword looks at and fills (client.Options'
// fields; cliflag cannot import client, which uses cliflag for its flags).
type Credentials struct {
	Authentication bool    // --server.authentication
	JWTToken       string  // --server.jwt-token
	Username       string  // --server.username
	Password       *string // --server.password, set when asked
	PasswordEnv    string  // the environment variable that may hold the password
	// Token, when set, is --server.jwt-token: "-" means ask for the token.
	Token *string
	// AskJWTSecret is --server.ask-jwt-secret: ask for the JWT secret into JWTSecret.
	AskJWTSecret bool
	JWTSecret    *string
}

// AskPassword asks for the password as arangodump and arangorestore do ("Please specify a
// password"): only when authentication is on (--server.authentication, the default), no
// JWT, no --server.password (not even an empty one) and no password in the environment were
// given, and stdin is a terminal. Never without a terminal: a script gets the server's
// refusal instead.
func AskPassword(fs *pflag.FlagSet, c Credentials, p PasswordPrompt) error {
	terminal := p.IsTerminal != nil && p.IsTerminal()
	ask := func(question, what string, into *string) error {
		if !terminal {
			return fmt.Errorf("%s is to be asked for, but stdin is not a terminal", what)
		}
		fmt.Fprint(p.Out, question)
		b, err := p.Read()
		fmt.Fprintln(p.Out)
		if err != nil {
			return fmt.Errorf("read the %s: %w", what, err)
		}
		*into = strings.TrimRight(string(b), "\r\n")
		return nil
	}
	// As ClientFeature::readJwtToken and readJwtSecret.
	if c.Token != nil && *c.Token == "-" {
		if err := ask("Please specify a JWT token: ", "JWT token (--server.jwt-token -)", c.Token); err != nil {
			return err
		}
		return nil
	}
	if c.AskJWTSecret && c.JWTSecret != nil {
		return ask("Please specify the JWT secret: ", "JWT secret (--server.ask-jwt-secret)", c.JWTSecret)
	}
	if !c.Authentication || c.JWTToken != "" || fs.Changed("server.password") || os.Getenv(c.PasswordEnv) != "" {
		return nil
	}
	if p.IsTerminal == nil || !p.IsTerminal() {
		return nil
	}
	fmt.Fprintf(p.Out, "Please specify a password for user %q: ", c.Username)
	b, err := p.Read()
	fmt.Fprintln(p.Out)
	if err != nil {
		return fmt.Errorf("read the password: %w", err)
	}
	*c.Password = strings.TrimRight(string(b), "\r\n")
	return nil
}
