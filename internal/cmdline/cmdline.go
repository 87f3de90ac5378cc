// Package cmdline is what every command of the toolchain (godump, gorestore, their hotbackup
// and physical subcommands) does with its command line before it runs, in one place: the
// answers that need no run (--help and its sections, --version-json, --dump-options, shell
// completion, the man page), the configuration file (-c, <tool>.conf), --check-configuration,
// and the --log.* options; and afterwards, where the command's own messages go (Messages).
//
// It writes only to the streams it is given and returns exit codes; the commands exit.
package cmdline

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"

	"github.com/spf13/pflag"
	"golang.org/x/term"

	"github.com/arangobackup/godump/cliflag"
	"github.com/arangobackup/godump/clilog"
)

// ExitUsage is the exit code of a bad command line or configuration file in every command.
// The ArangoDB tools use 3 (unknown option) and 4 (bad value); here 3 and 4 already mean a
// damaged dump (gorestore) and an authentication failure (hotbackup), so every bad command
// line exits 2 (see the README's exit code tables).
const ExitUsage = 2

// Spec describes a command for Parse.
type Spec struct {
	Program cliflag.Program
	// ConfigNames are the configuration file names looked up when no -c is given, ours
	// first: {"godump", "arangodump"}.
	ConfigNames    []string
	Stdout, Stderr io.Writer
}

// Setup is the result of a successful Parse.
type Setup struct {
	Logger   *clilog.Logger
	Messages *Messages
}

// Close closes the log outputs (files).
func (s *Setup) Close() { _ = s.Logger.Close() }

// Parse declares the --log.* and configuration options on fs, answers the informational
// options, parses args (configuration file included) and sets up logging. When the command
// must stop here it returns done=true with the exit code (0 after --help, --version-json,
// --check-configuration and the like; ExitUsage after a bad option, printed on Stderr).
// Otherwise the command goes on with the Setup.
func Parse(fs *pflag.FlagSet, args []string, s Spec) (setup *Setup, code int, done bool) {
	prog := s.Program.Name
	logOpts := clilog.AddFlags(fs)
	cliflag.AddConfigFlags(fs)
	addProgramOptions(fs)
	if handled, err := cliflag.Info(fs, args, s.Program, s.Stdout); handled {
		if err != nil {
			fmt.Fprintf(s.Stderr, "%s: %v\n", prog, err)
			return nil, ExitUsage, true
		}
		return nil, 0, true
	}
	err := cliflag.ParseWith(fs, args, cliflag.Config{Names: s.ConfigNames})
	check := errors.Is(err, cliflag.ErrCheckConfiguration)
	if err != nil && !check {
		fmt.Fprintf(s.Stderr, "%s: %v\nRun '%s --help' for the options.\n", prog, err, prog)
		return nil, ExitUsage, true
	}
	logger, notices, err := logOpts.Setup(prog, clilog.Env{Stdout: s.Stdout, Stderr: s.Stderr,
		StdoutTTY: isTerminal(s.Stdout), StderrTTY: isTerminal(s.Stderr)})
	if err != nil {
		fmt.Fprintf(s.Stderr, "%s: %v\n", prog, err)
		return nil, ExitUsage, true
	}
	more, err := programNotices(fs, prog)
	if err != nil {
		_ = logger.Close()
		fmt.Fprintf(s.Stderr, "%s: %v\n", prog, err)
		return nil, ExitUsage, true
	}
	notices = append(notices, more...)
	m := &Messages{prog: prog, stderr: s.Stderr}
	if logOpts.NamesOutputs() {
		m.log = logger.Logger
	}
	for _, n := range notices {
		m.Notice(n)
	}
	if check {
		// as the ArangoDB tools: everything parsed and valid, nothing run
		_ = logger.Close()
		return nil, 0, true
	}
	return &Setup{Logger: logger, Messages: m}, 0, false
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// Messages is where a command's own messages go (warnings, errors, notices, the lines of the
// progress reporter when it is not drawing bars): human lines on stderr ("godump: warning:
// ..."), or, when --log.file or --log.output names where log lines go, log records there
// (as the ArangoDB tools write their messages to their log outputs). It is an io.Writer of
// lines too, for the reporters and the client's retry messages.
type Messages struct {
	prog   string
	stderr io.Writer
	log    *slog.Logger // nil: human lines on stderr

	mu      sync.Mutex
	partial []byte
}

// NewMessages returns Messages writing human lines to stderr (tests, and commands before
// Parse).
func NewMessages(prog string, stderr io.Writer) *Messages {
	return &Messages{prog: prog, stderr: stderr}
}

// Warn reports a warning.
func (m *Messages) Warn(msg string) { m.emit(slog.LevelWarn, m.prog+": warning: "+msg) }

// Error reports the error that ends the run.
func (m *Messages) Error(msg string) { m.emit(slog.LevelError, m.prog+": "+msg) }

// Notice reports an informational line (an option without effect, a phase).
func (m *Messages) Notice(msg string) { m.emit(slog.LevelInfo, m.prog+": "+msg) }

// Logging reports whether messages go to log outputs rather than stderr.
func (m *Messages) Logging() bool { return m.log != nil }

// Write takes lines ("godump: warning: x", "# Dumping y...") and writes them as they are to
// stderr, or as records (WARNING when the line says "warning:", else INFO) to the log.
func (m *Messages) Write(p []byte) (int, error) {
	m.mu.Lock()
	m.partial = append(m.partial, p...)
	var lines []string
	for {
		i := bytes.IndexByte(m.partial, '\n')
		if i < 0 {
			break
		}
		lines = append(lines, string(m.partial[:i]))
		m.partial = m.partial[i+1:]
	}
	m.mu.Unlock()
	for _, l := range lines {
		lvl := slog.LevelInfo
		if strings.Contains(l, "warning:") {
			lvl = slog.LevelWarn
		}
		m.emit(lvl, l)
	}
	return len(p), nil
}

// emit writes one line: as it is to stderr, or as a record without the program's name (the
// log line has its own fields) to the log.
func (m *Messages) emit(lvl slog.Level, line string) {
	if m.log == nil {
		m.mu.Lock()
		fmt.Fprintln(m.stderr, line)
		m.mu.Unlock()
		return
	}
	line = strings.TrimPrefix(line, m.prog+": ")
	if lvl == slog.LevelWarn {
		line = strings.TrimPrefix(strings.TrimPrefix(line, "# "), "warning: ")
	}
	m.log.Log(context.Background(), lvl, line)
}
