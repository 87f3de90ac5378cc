package cliflag

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/spf13/pflag"
)

// Configuration files, as the ArangoDB tools read them (3.12 lib/ApplicationFeatures/
// ConfigFeature.cpp, lib/ProgramOptions/IniFileParser.cpp, ProgramOptions.cpp setValue).

// ErrCheckConfiguration is returned by Parse and ParseWith when --check-configuration was
// given and the command line and the configuration file are valid: the command exits 0 without
// doing anything else, as the tools do (ConfigFeature::loadOptions), and prints nothing.
var ErrCheckConfiguration = errors.New("--check-configuration: the configuration is valid")

// The exit codes the ArangoDB tools use for these errors (lib/Basics/exitcodes.dat), in
// ConfigError.Code.
const (
	ExitInvalidOptionName  = 3 // EXIT_INVALID_OPTION_NAME: unknown option
	ExitInvalidOptionValue = 4 // EXIT_INVALID_OPTION_VALUE: a value the option refuses
	ExitConfigNotFound     = 6 // EXIT_CONFIG_NOT_FOUND: file missing, unreadable or malformed
)

// ConfigError is an error in a configuration file: File and, when it is about one line,
// Line; Code is the exit code the ArangoDB tools use for it.
type ConfigError struct {
	File string
	Line int
	Code int
	Err  error
}

func (e *ConfigError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("config file '%s', line #%d: %v", e.File, e.Line, e.Err)
	}
	return fmt.Sprintf("config file '%s': %v", e.File, e.Err)
}

func (e *ConfigError) Unwrap() error { return e.Err }

// Config says which configuration file ParseWith reads when the command line names none.
type Config struct {
	// Names are the file names tried in each directory, without ".conf", ours first and then
	// the ArangoDB tool's: {"godump", "arangodump"}. None: no file is looked up (-c FILE still
	// reads FILE).
	Names []string
	// Dirs are the directories searched, in order; nil means DefaultConfigDirs().
	Dirs []string
}

// Option names ParseWith registers (AddConfigFlags).
const (
	FlagConfiguration      = "configuration" // -c FILE, or "none"
	FlagConfig             = "config"        // hidden alias of --configuration (same variable)
	FlagDefine             = "define"        // -D KEY=VALUE, hidden
	FlagCheckConfiguration = "check-configuration"
)

// AddConfigFlags registers --configuration/-c, --config, --define/-D and
// --check-configuration on fs, unless fs has them already. ParseWith calls it; call it
// yourself to list the options (help, completion) before parsing.
func AddConfigFlags(fs *pflag.FlagSet) {
	if fs.Lookup(FlagConfiguration) != nil {
		return
	}
	short := func(s string) string {
		if fs.ShorthandLookup(s) != nil {
			return ""
		}
		return s
	}
	file := new(string)
	fs.StringVarP(file, FlagConfiguration, short("c"), "",
		`read options from this configuration file (INI format, as the ArangoDB tools), or "none"; `+
			`default: the tool's .conf file in ./etc/relative, <install>/etc/arangodb3, ., ~/.arangodb or /etc/arangodb3`)
	fs.StringVar(file, FlagConfig, "", "the same as --configuration")
	fs.StringArrayP(FlagDefine, short("D"), nil, "KEY=VALUE: define @KEY@ for the values in the configuration file (repeatable)")
	Bool(fs, FlagCheckConfiguration, false, "check the command line and the configuration file, then exit (0: valid)")
	for _, name := range []string{FlagConfig, FlagDefine, FlagCheckConfiguration} {
		_ = fs.MarkHidden(name)
	}
}

// DefaultConfigDirs are the directories the ArangoDB tools look in for <tool>.conf, in their
// order (ConfigFeature::loadConfigFile): ./etc/relative, the install root's etc/arangodb3
// (<root>/usr/bin/<tool> → <root>/etc/arangodb3, otherwise /etc/arangodb3), the current
// directory, $HOME/.arangodb, and $ARANGODB_CONFIG_PATH or /etc/arangodb3.
func DefaultConfigDirs() []string {
	const sysconf = "/etc/arangodb3"
	cwd, _ := os.Getwd()
	root := "/"
	if exe, err := os.Executable(); err == nil {
		if dir := filepath.Dir(exe); strings.HasSuffix(dir, "/usr/bin") {
			root = strings.TrimSuffix(dir, "/usr/bin")
		}
	}
	home, ok := os.LookupEnv("HOME")
	if !ok {
		home = "." // TRI_HomeDirectory
	}
	config := sysconf
	if p := os.Getenv("ARANGODB_CONFIG_PATH"); p != "" {
		config = p
	}
	var dirs []string
	for _, d := range []string{filepath.Join(cwd, "etc", "relative"), filepath.Join(root, sysconf), cwd,
		filepath.Join(home, ".arangodb"), filepath.Clean(config)} {
		if !containsString(dirs, d) {
			dirs = append(dirs, d)
		}
	}
	return dirs
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// find returns the first <name>.conf that exists, trying every name in a directory before the
// next directory (as the tools try arangoimport.conf and then arangoimp.conf), or "".
func (c Config) find() string {
	if len(c.Names) == 0 {
		return ""
	}
	dirs := c.Dirs
	if dirs == nil {
		dirs = DefaultConfigDirs()
	}
	for _, dir := range dirs {
		for _, name := range c.Names {
			if !strings.HasSuffix(name, ".conf") {
				name += ".conf"
			}
			p := filepath.Join(dir, name)
			if _, err := os.Stat(p); err == nil {
				return p
			}
		}
	}
	return ""
}

// ParseWith parses args into fs the way the ArangoDB tools read their options:
//
//  1. the command line (Normalize's boolean forms), expanding @NAME@ in every option value
//     (Substitute; not in positional arguments);
//  2. unless --help was given: the configuration file, -c/--configuration FILE, or none for
//     `-c none` (any case), or else the first of c.Names found in c.Dirs. FILE.local, when it
//     exists, is read first. Values in the files expand @NAME@ with --define's definitions too;
//     an option given on the command line (or in FILE.local) keeps that value, the file's are
//     ignored for it, and within one file a repeated key repeats the option (a list grows, a
//     single value is replaced);
//  3. ErrCheckConfiguration when --check-configuration was given and all was valid.
//
// Unlike the tools, finding no default file is not an error: they install one with their
// packages, we ship none. Errors in files are *ConfigError.
func ParseWith(fs *pflag.FlagSet, args []string, c Config) error {
	AddConfigFlags(fs)
	restore := substituteCommandLine(fs)
	err := fs.Parse(Normalize(fs, args))
	restore()
	if err != nil {
		return err
	}
	if h := fs.Lookup("help"); h != nil && h.Changed && h.Value.String() == "true" {
		return nil // the tools print the help before reading anything (ArgumentParser::helpSection)
	}

	r := configReader{fs: fs, defines: map[string]string{}, frozen: map[string]bool{}, seen: map[string]bool{}}
	if defs, err := fs.GetStringArray(FlagDefine); err == nil {
		addDefines(r.defines, defs)
	}
	fs.Visit(func(f *pflag.Flag) { r.frozen[f.Name] = true })

	file := fs.Lookup(FlagConfiguration).Value.String()
	switch {
	case strings.EqualFold(file, "none"):
	case file != "":
		if _, err := os.Stat(file); err != nil {
			return &ConfigError{File: file, Code: ExitConfigNotFound, Err: err}
		}
		if err := r.readWithLocal(file); err != nil {
			return err
		}
	default:
		if found := c.find(); found != "" {
			if err := r.readWithLocal(found); err != nil {
				return err
			}
		}
	}

	if f := fs.Lookup(FlagCheckConfiguration); f != nil && f.Value.String() == "true" {
		return ErrCheckConfiguration
	}
	return nil
}

// The line forms of IniFileParser, matched in this order after the line is trimmed.
var (
	iniComment    = regexp.MustCompile(`^[ \t]*([#;].*)?$`)
	iniSection    = regexp.MustCompile(`^[ \t]*\[([-_A-Za-z0-9]*)\][ \t]*$`)
	iniCommunity  = regexp.MustCompile(`^[ \t]*\[([-_A-Za-z0-9]*):community\][ \t]*$`)
	iniEnterprise = regexp.MustCompile(`^[ \t]*\[([-_A-Za-z0-9]*):enterprise\][ \t]*$`)
	iniAssignment = regexp.MustCompile(`^[ \t]*(([-_A-Za-z0-9]*\.)?[-_A-Za-z0-9]*)[ \t]*=[ \t]*(.*?)?[ \t]*$`)
	iniInclude    = regexp.MustCompile(`^[ \t]*@include[ \t]*([-_A-Za-z0-9/\.]*)[ \t]*$`)
)

// configReader reads configuration files into fs in passes (ProgramOptions' touched/frozen):
// the command line is the first pass, FILE.local the next, FILE the last; an option set in
// an earlier pass is not changed by a later one.
type configReader struct {
	fs      *pflag.FlagSet
	defines map[string]string
	frozen  map[string]bool // set in an earlier pass
	touched map[string]bool // set in this pass
	seen    map[string]bool // files included so far (the tools refuse including one twice)
}

func (r *configReader) readWithLocal(file string) error {
	local := file + ".local"
	if st, err := os.Stat(local); err == nil && st.Mode().IsRegular() {
		if err := r.readPass(local); err != nil {
			return err
		}
	}
	return r.readPass(file)
}

// readPass reads one file with its includes, then freezes what it set.
func (r *configReader) readPass(file string) error {
	r.touched = map[string]bool{}
	if err := r.read(file); err != nil {
		return err
	}
	for name := range r.touched {
		r.frozen[name] = true
	}
	return nil
}

func (r *configReader) read(file string) error {
	buf, err := os.ReadFile(file)
	if err != nil {
		return &ConfigError{File: file, Code: ExitConfigNotFound, Err: err}
	}
	section, enterprise := "", false
	for n, line := range strings.Split(string(buf), "\n") {
		line = strings.Trim(line, " \t\n\r")
		lineErr := func(code int, err error) error {
			return &ConfigError{File: file, Line: n + 1, Code: code, Err: err}
		}
		if iniComment.MatchString(line) {
			continue
		}
		if m := iniSection.FindStringSubmatch(line); m != nil {
			section, enterprise = m[1], false
		} else if m := iniCommunity.FindStringSubmatch(line); m != nil {
			section, enterprise = m[1], false
		} else if m := iniEnterprise.FindStringSubmatch(line); m != nil {
			// Read as the Community Edition reads it: skipped. godump has no Enterprise options.
			section, enterprise = m[1], true
		} else if m := iniInclude.FindStringSubmatch(line); m != nil {
			include := m[1]
			if !strings.HasSuffix(include, ".conf") {
				include += ".conf"
			}
			if r.seen[include] {
				return lineErr(ExitConfigNotFound, fmt.Errorf("recursive include of file '%s'", include))
			}
			r.seen[include] = true
			if st, err := os.Stat(include); err != nil || !st.Mode().IsRegular() {
				include = filepath.Join(filepath.Dir(file), include)
			}
			if err := r.read(include); err != nil {
				return err
			}
		} else if m := iniAssignment.FindStringSubmatch(line); m != nil {
			name, value := m[1], m[3]
			if section != "" && m[2] == "" {
				name = section + "." + name
			}
			if enterprise {
				continue
			}
			if err := r.set(name, value); err != nil {
				return lineErr(exitCodeOf(err), err)
			}
		} else {
			return lineErr(ExitConfigNotFound, fmt.Errorf("unknown line type: '%s'", line))
		}
	}
	return nil
}

var errUnknownOption = errors.New("unknown option")

func exitCodeOf(err error) int {
	if errors.Is(err, errUnknownOption) {
		return ExitInvalidOptionName
	}
	return ExitInvalidOptionValue
}

// set is ProgramOptions::setValue for a file: options of earlier passes stay, unknown ones are
// an error, the value is expanded, and an empty value of a boolean means true.
func (r *configReader) set(name, value string) error {
	if r.frozen[name] {
		return nil
	}
	f := r.fs.Lookup(name)
	if f == nil {
		return fmt.Errorf("%w '--%s'", errUnknownOption, name)
	}
	value = Substitute(value, r.defines)
	if value == "" && f.NoOptDefVal != "" {
		value = f.NoOptDefVal
	}
	if err := r.fs.Set(name, value); err != nil {
		return fmt.Errorf("error setting value for option '--%s': %w", name, err)
	}
	r.touched[name] = true
	return nil
}
