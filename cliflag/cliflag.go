// Package cliflag parses command lines the way arangodump, arangorestore and arangobackup do,
// on top of pflag: boolean options take their value after a space (`--compress-output false`)
// as well as after `=`, a bare boolean option means true, and boolean values may be spelled
// true/false, yes/no, on/off or 1/0. Existing scripts written for the ArangoDB tools therefore
// run unchanged.
//
// As in the tools, every option value may contain @NAME@ (an environment variable; see
// Substitute), options may come from a configuration file in the tools' INI format
// (-c/--configuration FILE, `-c none`, or <tool>.conf looked up where the tools look; see
// ParseWith), --check-configuration checks them, and numeric options declared with SizeVar,
// Int64Var or IntVar take unit suffixes (64MiB, 1GB, 512k).
//
// It is not a general flag library: declare flags with pflag as usual, using Bool from here for
// every boolean so that the extra spellings are accepted, and call Parse or ParseWith instead of
// fs.Parse. VersionText is what every tool prints for --version.
package cliflag

import (
	"fmt"
	"strings"

	"github.com/spf13/pflag"
)

// boolValue is a pflag.Value for booleans with the ArangoDB tools' spellings.
type boolValue bool

func (b *boolValue) String() string { return fmt.Sprint(bool(*b)) }
func (b *boolValue) Type() string   { return "bool" }

func (b *boolValue) Set(s string) error {
	v, ok := ParseBool(s)
	if !ok {
		return fmt.Errorf("invalid boolean value %q (use true or false)", s)
	}
	*b = boolValue(v)
	return nil
}

// ParseBool reads the boolean spellings the ArangoDB tools accept.
func ParseBool(s string) (value, ok bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "yes", "on", "1", "y":
		return true, true
	case "false", "no", "off", "0", "n":
		return false, true
	}
	return false, false
}

// Bool defines a boolean flag that accepts `--name`, `--name=V` and `--name V`.
func Bool(fs *pflag.FlagSet, name string, value bool, usage string) *bool {
	p := new(bool)
	BoolVar(fs, p, name, value, usage)
	return p
}

// BoolVar is Bool storing into p.
func BoolVar(fs *pflag.FlagSet, p *bool, name string, value bool, usage string) {
	*p = value
	f := fs.VarPF((*boolValue)(p), name, "", usage)
	f.NoOptDefVal = "true"
}

// Parse is ParseWith without a default configuration file: the command line (booleans in
// the tools' forms, @NAME@ expanded), -c/--configuration FILE when given, --define and
// --check-configuration. Commands that should read <tool>.conf by default call ParseWith.
func Parse(fs *pflag.FlagSet, args []string) error {
	return ParseWith(fs, args, Config{})
}

// Normalize rewrites the space-separated form of boolean options into pflag's `=` form. A
// boolean option followed by something that is not a boolean spelling stays bare (true), so
// `--overwrite /backup/dir` still reads /backup/dir as a positional argument.
func Normalize(fs *pflag.FlagSet, args []string) []string {
	out := make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		arg := args[i]
		if arg == "--" {
			out = append(out, args[i:]...)
			break
		}
		if strings.HasPrefix(arg, "--") && !strings.Contains(arg, "=") && i+1 < len(args) {
			if f := fs.Lookup(arg[2:]); f != nil && f.Value.Type() == "bool" {
				if _, ok := ParseBool(args[i+1]); ok {
					out = append(out, arg+"="+args[i+1])
					i++
					continue
				}
			}
		}
		out = append(out, arg)
	}
	return out
}

// Changed reports whether the user set the named flag on the command line.
func Changed(fs *pflag.FlagSet, name string) bool {
	f := fs.Lookup(name)
	return f != nil && f.Changed
}
