package cliflag

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/pflag"
	"golang.org/x/term"
)

// Program describes a command for the answers Info gives without running it: --help and its
// sections, --dump-options, --version-json, shell completion and the man page. All of them
// are generated from the command's FlagSet, so an option declared once shows up everywhere.
type Program struct {
	Name    string // as typed: "godump", "godump hotbackup"
	Usage   string // first lines of --help, e.g. "Usage: godump [<options>] [<output-directory>]"
	Summary string // a paragraph after the usage (and the man page's DESCRIPTION)
	Footer  string // printed after the options, e.g. the exit codes
	Version string // the release override passed to ToolVersion ("" = the module version)
	// Common lists the sections plain --help shows ("" is the general section). Nil shows
	// every section that has a non-hidden option, as the ArangoDB tools do.
	Common []string
	// PositionalDir says the program's positional argument is a directory (completion).
	PositionalDir bool
	// Subcommands are words that, as the first argument, select another command with its
	// own options (godump hotbackup ...). Used by completion and the man page only; each
	// subcommand answers --help itself by calling Info with its own FlagSet.
	Subcommands []Subcommand
}

// Subcommand is a command reached through a word after the program name.
type Subcommand struct {
	Name    string
	Summary string
	Words   []string       // words it takes as its first argument ("create", "list", ...)
	Flags   *pflag.FlagSet // its options; nil: none are completed or listed
}

// The options Info answers itself. They are added to the FlagSet (hidden where the ArangoDB
// tools hide them) so that a later Parse accepts them, e.g. `--dump-options false`.
const (
	optVersionJSON = "version-json"
	optDumpOptions = "dump-options"
	optCompletion  = "completion"
	optMan         = "man"
)

// commandOptions are options that make the program print something and exit. The ArangoDB
// tools mark them Flags::Command: their --dump-options entry has category "command" and no
// default, and --help shows no default for them.
var commandOptions = map[string]bool{
	"help": true, "version": true, optVersionJSON: true, optDumpOptions: true,
	"check-configuration": true, "dump-dependencies": true, "abort": true, "status-id": true, optCompletion: true, optMan: true,
}

// AddInfoFlags declares the options Info answers (--version-json, and the hidden
// --dump-options, --completion <shell> and --man) on fs unless it has them already. Info
// calls it; a command calls it itself only to have them in fs before Info runs.
func AddInfoFlags(fs *pflag.FlagSet) {
	if fs.Lookup(optVersionJSON) == nil {
		Bool(fs, optVersionJSON, false, "print the version and build information in JSON format, then exit")
	}
	if fs.Lookup(optDumpOptions) == nil {
		Bool(fs, optDumpOptions, false, "print all options in JSON format, then exit")
		_ = fs.MarkHidden(optDumpOptions)
	}
	if fs.Lookup(optCompletion) == nil {
		fs.String(optCompletion, "", "print the shell completion script for bash, zsh or fish, then exit")
		_ = fs.MarkHidden(optCompletion)
	}
	if fs.Lookup(optMan) == nil {
		Bool(fs, optMan, false, "print the man page (roff), then exit")
		_ = fs.MarkHidden(optMan)
	}
}

// Info answers the informational options before the command parses args: --help (-h),
// --help-all, --help-<section>, --version-json, --dump-options, --completion <shell> and
// --man. It writes the answer to stdout and returns handled=true; the command then exits
// (0, or 2 when err is not nil: an unknown help section or shell). handled=false: none was
// asked for, parse args and go on. Like the ArangoDB tools, it looks for --help anywhere
// before a `--`, so that `godump --server.database x --help` shows help instead of failing.
func Info(fs *pflag.FlagSet, args []string, p Program, stdout io.Writer) (handled bool, err error) {
	AddInfoFlags(fs)
	if p.Name == "" {
		p.Name = fs.Name()
	}
	if section, ok := helpRequest(args); ok {
		return true, writeHelp(stdout, fs, p, section, terminalWidth(stdout))
	}
	req := infoRequests(fs, args)
	asked := func(name string) bool { _, ok := req[name]; return ok }
	switch {
	case asked(optDumpOptions):
		return true, writeDumpOptions(stdout, fs)
	case asked(optVersionJSON):
		return true, writeVersionJSON(stdout, p)
	case asked(optCompletion):
		return true, WriteCompletion(stdout, fs, p, req[optCompletion])
	case asked(optMan):
		return true, WriteMan(stdout, fs, p)
	}
	return false, nil
}

// helpRequest finds the first --help argument before `--`, as ArangoDB's
// ArgumentParser::helpSection does: "*" for --help (and -h, --help=true), "." for
// --help-all (also --help-., --help-hidden, --help-uncommon), else the section name.
func helpRequest(args []string) (section string, ok bool) {
	for _, a := range args {
		if a == "--" {
			break
		}
		switch {
		case a == "-h" || a == "--help" || a == "--help-":
			return "*", true
		case strings.HasPrefix(a, "--help="):
			if v, _ := ParseBool(strings.TrimPrefix(a, "--help=")); v {
				return "*", true
			}
		case strings.HasPrefix(a, "--help-"):
			s := strings.TrimPrefix(a, "--help-")
			switch s {
			case "all", "hidden", "uncommon", ".":
				return ".", true
			}
			return s, true
		}
	}
	return "", false
}

// infoRequests reads the values of Info's own options in args (before `--`): booleans in
// cliflag's forms (`--x`, `--x=V`, `--x V`; a false value takes an earlier true back),
// --completion as `--completion=SHELL` or `--completion SHELL`. An option not asked for has
// no key.
func infoRequests(fs *pflag.FlagSet, args []string) map[string]string {
	req := map[string]string{}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			break
		}
		if !strings.HasPrefix(a, "--") {
			continue
		}
		name, val, hasVal := strings.Cut(a[2:], "=")
		switch name {
		case optVersionJSON, optDumpOptions, optMan:
			if !hasVal {
				val = "true"
				if i+1 < len(args) {
					if _, ok := ParseBool(args[i+1]); ok {
						val = args[i+1]
						i++
					}
				}
			}
			if v, _ := ParseBool(val); v {
				req[name] = "true"
			} else {
				delete(req, name)
			}
		case optCompletion:
			if !hasVal && i+1 < len(args) {
				val = args[i+1]
				i++
			}
			req[name] = val // "" (no shell given): WriteCompletion says which exist
		default:
			// Skip the value of an option that takes one, so that `--label --man` is a label.
			if f := fs.Lookup(name); f != nil && !hasVal && f.NoOptDefVal == "" && i+1 < len(args) {
				i++
			}
		}
	}
	return req
}

// terminalWidth is the width --help wraps to: the terminal's when stdout is one, else 80
// (the ArangoDB tools' default when they cannot ask the terminal).
func terminalWidth(w io.Writer) int {
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		if cols, _, err := term.GetSize(int(f.Fd())); err == nil && cols > 0 {
			return cols
		}
	}
	return 80
}

// option is one flag as the ArangoDB tools describe an option.
type option struct {
	flag    *pflag.Flag
	name    string // full name: "server.endpoint"
	section string // the part before the first dot: "server"; "" for the general section
	typ     string // the ArangoDB type name: boolean, string, string..., uint64, int64, double
	command bool
}

// options lists fs's flags sorted by name (the ArangoDB tools keep options in a sorted map),
// without --help, which the ArangoDB tools do not list as an option either.
func options(fs *pflag.FlagSet) []option {
	var out []option
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Name == "help" {
			return
		}
		section, _, ok := strings.Cut(f.Name, ".")
		if !ok {
			section = ""
		}
		out = append(out, option{flag: f, name: f.Name, section: section, typ: typeName(f), command: commandOptions[f.Name]})
	})
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// typeName maps pflag's Value.Type() to the parameter names of ArangoDB's ProgramOptions
// (Parameters.h: BooleanParameter "boolean", VectorParameter "<type>...", NumericParameter
// "int64"/"uint64"/"double", ...). Unknown types keep pflag's name.
func typeName(f *pflag.Flag) string {
	t := f.Value.Type()
	switch t {
	case "bool":
		return "boolean"
	case "string":
		return "string"
	case "stringArray", "stringSlice":
		return "string..."
	case "int", "int64":
		return "int64"
	case "int32", "int16", "uint32", "uint16", "uint64":
		return t
	case "uint":
		return "uint64"
	case "float64", "float32", "seconds":
		return "double"
	case "intSlice", "int64Slice":
		return "int64..."
	}
	return t
}

// takesValue reports whether the option needs a value after it (pflag: no NoOptDefVal).
func (o option) takesValue() bool { return o.flag.NoOptDefVal == "" }

// sliceDefault is a vector option's default values (the flag's value before parsing).
func (o option) sliceDefault() []string {
	if sv, ok := o.flag.Value.(pflag.SliceValue); ok {
		return append([]string{}, sv.GetSlice()...)
	}
	s := strings.Trim(o.flag.DefValue, "[]")
	if s == "" {
		return []string{}
	}
	return strings.Split(s, ",")
}

// defaultString is the default as --help shows it (ArangoDB's Parameter::valueString):
// strings quoted, vectors as a comma-separated list of quoted strings, others as they are.
func (o option) defaultString() string {
	switch {
	case o.typ == "string":
		return strconv.Quote(o.flag.DefValue)
	case strings.HasSuffix(o.typ, "..."):
		vals := o.sliceDefault()
		for i, v := range vals {
			if strings.HasPrefix(o.typ, "string") {
				vals[i] = strconv.Quote(v)
			}
		}
		return strings.Join(vals, ", ")
	}
	return o.flag.DefValue
}

// defaultJSON is the default as --dump-options writes it: a JSON boolean, number, string or
// array.
func (o option) defaultJSON() any {
	d := o.flag.DefValue
	switch {
	case o.typ == "boolean":
		v, _ := ParseBool(d)
		return v
	case o.typ == "string":
		return d
	case strings.HasSuffix(o.typ, "..."):
		return o.sliceDefault()
	case strings.HasPrefix(o.typ, "uint"):
		if v, err := strconv.ParseUint(d, 10, 64); err == nil {
			return v
		}
	case strings.HasPrefix(o.typ, "int"):
		if v, err := strconv.ParseInt(d, 10, 64); err == nil {
			return v
		}
	case o.typ == "double":
		if v, err := strconv.ParseFloat(d, 64); err == nil {
			return v
		}
	}
	return d
}

// numericRange is what ArangoDB's NumericParameter::toVelocyPack adds for a number type: the
// type's whole range (numeric_limits min and max; for double, min is the smallest normal
// positive value).
func numericRange(typ string) (lo, hi any, ok bool) {
	switch typ {
	case "uint64":
		return uint64(0), uint64(math.MaxUint64), true
	case "uint32":
		return uint64(0), uint64(math.MaxUint32), true
	case "uint16":
		return uint64(0), uint64(math.MaxUint16), true
	case "int64":
		return int64(math.MinInt64), int64(math.MaxInt64), true
	case "int32":
		return int64(math.MinInt32), int64(math.MaxInt32), true
	case "int16":
		return int64(math.MinInt16), int64(math.MaxInt16), true
	case "double":
		return 2.2250738585072014e-308, math.MaxFloat64, true
	}
	return nil, nil, false
}

// writeDumpOptions writes --dump-options: a JSON object keyed by option name with the keys
// ArangoDB's ProgramOptions::toVelocyPack(detailed) writes, pretty-printed with sorted keys
// as the tools print it (the format of docs-hugo's site/data/3.12/arangodump.json).
func writeDumpOptions(w io.Writer, fs *pflag.FlagSet) error {
	all := map[string]any{}
	for _, o := range options(fs) {
		e := map[string]any{
			"section":        o.section,
			"description":    o.flag.Usage,
			"category":       "option",
			"hidden":         o.flag.Hidden,
			"type":           o.typ,
			"experimental":   false,
			"obsolete":       false,
			"enterpriseOnly": false,
			"requiresValue":  o.takesValue(),
			"os":             []string{"linux"},
			"introducedIn":   nil,
			"deprecatedIn":   nil,
			"dynamic":        false,
		}
		if o.command {
			e["category"] = "command"
		} else {
			e["default"] = o.defaultJSON()
			if o.typ == "boolean" {
				e["required"] = false
			}
			if lo, hi, ok := numericRange(o.typ); ok {
				e["base"] = 1
				e["minValue"], e["maxValue"] = lo, hi
				e["minInclusive"], e["maxInclusive"] = true, true
			}
		}
		all[o.name] = e
	}
	var b bytes.Buffer
	writeVPackJSON(&b, all, 0)
	b.WriteByte('\n')
	_, err := w.Write(b.Bytes())
	return err
}

// writeVPackJSON writes v the way velocypack's pretty Dumper does: two-space indent,
// `"key" : value`, object keys sorted, an empty array as "[" newline "]".
func writeVPackJSON(b *bytes.Buffer, v any, indent int) {
	pad := strings.Repeat("  ", indent)
	switch v := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteString("{\n")
		for i, k := range keys {
			b.WriteString(pad + "  ")
			writeJSONScalar(b, k)
			b.WriteString(" : ")
			writeVPackJSON(b, v[k], indent+1)
			if i < len(keys)-1 {
				b.WriteByte(',')
			}
			b.WriteByte('\n')
		}
		b.WriteString(pad + "}")
	case []string:
		b.WriteString("[\n")
		for i, s := range v {
			b.WriteString(pad + "  ")
			writeJSONScalar(b, s)
			if i < len(v)-1 {
				b.WriteByte(',')
			}
			b.WriteByte('\n')
		}
		b.WriteString(pad + "]")
	default:
		writeJSONScalar(b, v)
	}
}

// writeJSONScalar writes a string, number, boolean or null without HTML escaping (velocypack
// writes "http+tcp://..." and "<filename>" as they are).
func writeJSONScalar(b *bytes.Buffer, v any) {
	var s bytes.Buffer
	enc := json.NewEncoder(&s)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		fmt.Fprintf(&s, "%q", fmt.Sprint(v))
	}
	b.Write(bytes.TrimRight(s.Bytes(), "\n"))
}

// writeVersionJSON writes --version-json: one line of JSON with string values and sorted
// keys, as ArangoDB's VersionFeature does (Version::getVPack plus "version"). It fills the
// keys that mean something for a Go program from runtime/debug.ReadBuildInfo; keys the
// ArangoDB tools take from their C++ build (boost, rocksdb, v8, openssl...) are left out,
// as the tools leave out keys whose value is empty.
func writeVersionJSON(w io.Writer, p Program) error {
	bi, _ := debug.ReadBuildInfo()
	m := versionValues(p, bi)
	out, err := json.Marshal(m) // map keys come out sorted, as velocypack sorts them
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", out)
	return err
}

func versionValues(p Program, bi *debug.BuildInfo) map[string]string {
	v, rev, at, modified := buildFacts(p.Version, bi)
	goVersion := runtime.Version()
	if bi != nil && bi.GoVersion != "" {
		goVersion = bi.GoVersion
	}
	name := p.Name
	if i := strings.IndexByte(name, ' '); i > 0 {
		name = name[:i]
	}
	arm := "false"
	if strings.HasPrefix(runtime.GOARCH, "arm") {
		arm = "true"
	}
	m := map[string]string{
		"version":             v,
		"server-version":      v,
		"architecture":        strconv.Itoa(strconv.IntSize) + "bit",
		"arm":                 arm,
		"platform":            runtime.GOOS,
		"compiler":            runtime.Compiler + " [" + goVersion + "]",
		"debug":               "false",
		"assertions":          "false",
		"maintainer-mode":     "false",
		"sizeof void*":        strconv.Itoa(strconv.IntSize / 8),
		"full-version-string": fmt.Sprintf("%s %s [%s] %dbit, %s", name, v, runtime.GOOS, strconv.IntSize, goVersion),
	}
	if rev != "" {
		repo := rev
		if modified {
			repo += "-dirty"
		}
		m["build-repository"] = repo
		m["full-version-string"] += ", build " + repo
	}
	if at != "" {
		m["build-date"] = at
	}
	return m
}
