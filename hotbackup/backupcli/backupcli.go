// Package backupcli is the command-line layer of the hot and physical backup
// commands, shared by godump and gorestore (`godump hotbackup ...`,
// `gorestore hotbackup restore`, `godump physical`, `gorestore physical`): it
// parses arangobackup-style options, runs the hotbackup and physical
// libraries, prints results and progress, and maps errors to exit codes.
//
// It writes only to the streams it is given and returns an exit code; it never
// calls os.Exit, so the commands stay thin and the behaviour is testable.
package backupcli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/pflag"

	"github.com/arangobackup/godump/client"
	"github.com/arangobackup/godump/cliflag"
	"github.com/arangobackup/godump/datadir"
	"github.com/arangobackup/godump/hotbackup"
	"github.com/arangobackup/godump/hotbackup/physical"
	"github.com/arangobackup/godump/internal/cmdline"
	"golang.org/x/term"
)

// Exit codes of the backup commands (0-4 and 130 as in gorestore). arangobackup
// exits 0 even when an operation failed (a known defect); these do not.
const (
	ExitOK          = 0   // the operation succeeded
	ExitFailure     = 1   // the operation failed (see the message)
	ExitUsage       = 2   // bad command line
	ExitBadInput    = 3   // physical: the backup does not match its manifest, or has none
	ExitAuth        = 4   // authentication or permission failure (hot backups need a superuser)
	ExitLockTimeout = 5   // create: global write lock not obtained in time
	ExitNotFound    = 6   // no backup / transfer with that id
	ExitTransfer    = 7   // upload/download failed or was aborted
	ExitLocked      = 8   // physical: a server holds the data directory's LOCK
	ExitNotEmpty    = 9   // physical: target not empty (use --overwrite)
	ExitInterrupted = 130 // interrupted (Ctrl-C); a transfer may still run
)

// IO are the streams a command uses. Interactive says whether a person sits
// at In/Err (a terminal): it enables confirmations and questions.
//
// Streams: results and the closing line on Out (stdout), help on Out, progress, questions,
// notes and errors on Err (stderr), as in godump and gorestore.
type IO struct {
	In          io.Reader
	Out, Err    io.Writer
	Interactive bool
	// ReadPassword reads a line from the terminal without echo (nil: never ask for a password).
	ReadPassword func() ([]byte, error)

	in   *bufio.Reader
	msgs *cmdline.Messages // set by parse: messages go to the log outputs when it logs

	closeLog func()
}

func (s *IO) printf(format string, a ...any) { fmt.Fprintf(s.Out, format, a...) }

// errorf writes messages (errors, warnings, notes, progress lines): to the log outputs
// when --log.file or --log.output says so, else to Err.
func (s *IO) errorf(format string, a ...any) {
	if s.msgs != nil && s.msgs.Logging() {
		fmt.Fprintf(s.msgs, format, a...)
		return
	}
	fmt.Fprintf(s.Err, format, a...)
}

// messages is the writer of message lines (see errorf).
func (s *IO) messages() io.Writer {
	if s.msgs != nil && s.msgs.Logging() {
		return s.msgs
	}
	return s.Err
}

// exitTable is the Footer of every backup command's --help.
const exitTable = `Exit codes:
  0    the operation succeeded
  1    the operation failed (see the message)
  2    bad command line
  3    physical: the backup does not match its manifest, or has none
  4    authentication or permission failure (hot backups need a superuser)
  5    create: global write lock not obtained in time
  6    no backup / transfer with that id
  7    upload/download failed or was aborted
  8    physical: a server holds the data directory's LOCK
  9    physical: target not empty (use --overwrite)
  130  interrupted (Ctrl-C); a transfer may still run
`

// doneError ends a command after cmdline.Parse answered (help, --version-json, a bad
// option already reported): the command exits with code and prints nothing more.
type doneError struct{ code int }

func (e *doneError) Error() string { return fmt.Sprintf("exit %d", e.code) }

// parse runs cmdline.Parse for prog; on success the messages of s follow the --log.* options.
func parse(fs *pflag.FlagSet, args []string, prog cliflag.Program, configNames []string, s *IO) (*cmdline.Setup, error) {
	setup, code, done := cmdline.Parse(fs, args, cmdline.Spec{Program: prog, ConfigNames: configNames, Stdout: s.Out, Stderr: s.Err})
	if done {
		return nil, &doneError{code}
	}
	s.msgs = setup.Messages
	return setup, nil
}

// ask asks a yes/no question on the terminal; the default is no.
func (s *IO) ask(question string) bool {
	if !s.Interactive || s.In == nil {
		return false
	}
	if s.in == nil {
		s.in = bufio.NewReader(s.In)
	}
	fmt.Fprintf(s.Err, "%s [y/N] ", question)
	line, err := s.in.ReadString('\n')
	if err != nil && line == "" {
		fmt.Fprintln(s.Err)
		return false
	}
	a := strings.ToLower(strings.TrimSpace(line))
	return a == "y" || a == "yes"
}

// usageError is a bad command line.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return &usageError{fmt.Sprintf(format, a...)} }

// exitCode is the one table from errors to exit codes.
func exitCode(err error) int {
	var ue *usageError
	var le *datadir.LockedError
	var de *doneError
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &de):
		return de.code
	case errors.As(err, &ue), errors.Is(err, client.ErrBadOption):
		return ExitUsage
	case errors.Is(err, context.Canceled):
		return ExitInterrupted
	case errors.Is(err, hotbackup.ErrForbidden), client.IsUnauthorized(err):
		return ExitAuth
	case errors.Is(err, hotbackup.ErrLockTimeout):
		return ExitLockTimeout
	case errors.Is(err, hotbackup.ErrNotFound):
		return ExitNotFound
	case errors.Is(err, hotbackup.ErrTransferFailed), errors.Is(err, hotbackup.ErrTransferCancelled):
		return ExitTransfer
	case errors.As(err, &le):
		return ExitLocked
	case errors.Is(err, physical.ErrMismatch), errors.Is(err, physical.ErrBadManifest):
		return ExitBadInput
	case errors.Is(err, physical.ErrNotEmpty):
		return ExitNotEmpty
	}
	return ExitFailure
}

// TerminalIO is the process's own streams: stdin, stdout, stderr, interactive when stdin
// and stderr are terminals, and passwords read from stdin without echo.
func TerminalIO() *IO {
	stdin := int(os.Stdin.Fd())
	return &IO{In: os.Stdin, Out: os.Stdout, Err: os.Stderr,
		Interactive:  term.IsTerminal(stdin) && term.IsTerminal(int(os.Stderr.Fd())),
		ReadPassword: func() ([]byte, error) { return term.ReadPassword(stdin) }}
}
