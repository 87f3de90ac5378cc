package cliflag

import (
	"os"
	"strconv"
	"strings"

	"github.com/spf13/pflag"
)

// Substitute expands `@NAME@` in an option value as the ArangoDB tools do (3.12
// lib/ProgramOptions/Translator.cpp, EnvironmentTranslator), for values from the command line
// and from configuration files alike:
//
//   - `@@` is a literal `@`;
//   - `@NAME@` becomes the environment variable NAME when it is set and not empty, else the
//     value given to NAME with --define (config files only: the tools read --define after the
//     command line), else for PID the process id and for TEMP_BASE_DIR the temporary
//     directory, else nothing;
//   - an `@` without a closing `@` stays as it is, with the rest of the value.
//
// Positional arguments are not options and are never expanded.
func Substitute(value string, defines map[string]string) string {
	if !strings.Contains(value, "@") {
		return value
	}
	var b strings.Builder
	for i := 0; i < len(value); i++ {
		if value[i] != '@' {
			b.WriteByte(value[i])
			continue
		}
		i++
		if i < len(value) && value[i] == '@' {
			b.WriteByte('@')
			continue
		}
		end := strings.IndexByte(value[i:], '@')
		if end < 0 {
			b.WriteString(value[i-1:])
			break
		}
		b.WriteString(substituteName(value[i:i+end], defines))
		i += end // at the closing '@'
	}
	return b.String()
}

func substituteName(name string, defines map[string]string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	if v := defines[name]; v != "" {
		return v
	}
	switch name {
	case "PID":
		return strconv.Itoa(os.Getpid())
	case "TEMP_BASE_DIR":
		// The tools use a per-process directory below it (arangodb_XXXXXX); we have none.
		return os.TempDir()
	}
	return ""
}

// addDefines reads --define values into defines as DefineEnvironment (Translator.cpp) does:
// each value is a comma-separated list of KEY=VALUE (a KEY alone defines it empty), later
// definitions replacing earlier ones.
func addDefines(defines map[string]string, values []string) {
	for _, v := range values {
		for _, kv := range strings.Split(v, ",") {
			key, value, _ := strings.Cut(kv, "=")
			defines[key] = value
		}
	}
}

// substitutingValue expands @NAME@ in every value set on the flag it wraps.
type substitutingValue struct {
	pflag.Value
}

func (v substitutingValue) Set(s string) error { return v.Value.Set(Substitute(s, nil)) }

// substituteCommandLine makes every flag of fs expand @NAME@ in the values it is given, until
// restore is called. Wrapping the values, rather than rewriting args, leaves the syntax of the
// command line (`--x=v`, `--x v`, `-xv`, shorthand groups) to pflag.
func substituteCommandLine(fs *pflag.FlagSet) (restore func()) {
	type saved struct {
		f *pflag.Flag
		v pflag.Value
	}
	var all []saved
	fs.VisitAll(func(f *pflag.Flag) {
		all = append(all, saved{f, f.Value})
		f.Value = substitutingValue{f.Value}
	})
	return func() {
		for _, s := range all {
			s.f.Value = s.v
		}
	}
}
