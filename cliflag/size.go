package cliflag

import (
	"errors"
	"math"
	"strconv"
	"strings"

	"github.com/spf13/pflag"
)

// Numbers with unit suffixes, as every numeric option of the ArangoDB tools takes them (3.12
// lib/ProgramOptions/Parameters.h toNumber, UnitsHelper.h parseNumberWithUnit,
// UnitsHelper.cpp extractSuffix):
//
//   - a `#` and everything after it is dropped, then spaces, tabs and line ends around the value;
//   - a whole decimal number, with an optional `+` (and `-` for signed options), no fraction
//     and no space before the unit;
//   - units, exactly these spellings: kib KiB KIB, mib MiB MIB, gib GiB GIB, tib TiB TIB (powers
//     of 1024); kb KB, mb MB, gb GB, tb TB and k K, m M, g G, t T (powers of 1000); b B (1). Other
//     spellings (kB, Kb, Mib) are refused;
//   - `N%` is N percent of the option's base, which is 1 for every option of these tools, so
//     `50%` is 0 and `250%` is 2 (integer division, as the tools do);
//   - a number whose value (times its unit) does not fit the option's type is refused.
//
// Values print as plain numbers, so the defaults in --help are unchanged.

// unitSuffixes is extractSuffix's table, in its order: the first suffix the value ends with wins.
var unitSuffixes = []struct {
	suffix string
	factor uint64
}{
	{"kib", 1 << 10}, {"KiB", 1 << 10}, {"KIB", 1 << 10},
	{"mib", 1 << 20}, {"MiB", 1 << 20}, {"MIB", 1 << 20},
	{"gib", 1 << 30}, {"GiB", 1 << 30}, {"GIB", 1 << 30},
	{"tib", 1 << 40}, {"TiB", 1 << 40}, {"TIB", 1 << 40},
	{"kb", 1e3}, {"KB", 1e3}, {"mb", 1e6}, {"MB", 1e6}, {"gb", 1e9}, {"GB", 1e9}, {"tb", 1e12}, {"TB", 1e12},
	{"k", 1e3}, {"K", 1e3}, {"m", 1e6}, {"M", 1e6}, {"g", 1e9}, {"G", 1e9}, {"t", 1e12}, {"T", 1e12},
	{"b", 1}, {"B", 1},
}

const unitHelp = "a whole number, optionally followed by a unit: b, k or kb, m or mb, g or gb, t or tb " +
	"(powers of 1000), kib, mib, gib, tib (powers of 1024; also written KiB or KIB), or %"

var (
	errNotANumber = errors.New("not a valid number: want " + unitHelp)
	errOutOfRange = errors.New("number out of range")
)

// splitNumber strips comments and blanks (removeWhitespaceAndComments) and splits off the unit:
// the digits, the factor and the divisor (100 for %).
func splitNumber(s string) (digits string, factor, divisor uint64) {
	if i := strings.IndexByte(s, '#'); i >= 0 {
		s = s[:i]
	}
	s = strings.Trim(s, " \t\r\n")
	for _, u := range unitSuffixes {
		if strings.HasSuffix(s, u.suffix) {
			return s[:len(s)-len(u.suffix)], u.factor, 1
		}
	}
	if strings.HasSuffix(s, "%") {
		return s[:len(s)-1], 1, 100 // the base of every option of these tools is 1
	}
	return s, 1, 1
}

// onlyDigits reports whether s is a non-empty run of 0-9 (NumberUtils::atoi: no blanks, no
// fraction, no exponent).
func onlyDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// ParseUint parses an unsigned option value with the tools' unit suffixes, at most max.
func ParseUint(s string, max uint64) (uint64, error) {
	digits, factor, divisor := splitNumber(s)
	digits = strings.TrimPrefix(digits, "+")
	if !onlyDigits(digits) {
		return 0, errNotANumber
	}
	v, err := strconv.ParseUint(digits, 10, 64)
	if err != nil || v > max/factor {
		return 0, errOutOfRange
	}
	return v * factor / divisor, nil
}

// ParseInt parses a signed option value with the tools' unit suffixes, within [min, max].
func ParseInt(s string, min, max int64) (int64, error) {
	digits, factor, divisor := splitNumber(s)
	neg := strings.HasPrefix(digits, "-")
	if neg {
		digits = digits[1:]
	} else {
		digits = strings.TrimPrefix(digits, "+")
	}
	if !onlyDigits(digits) {
		return 0, errNotANumber
	}
	u, err := strconv.ParseUint(digits, 10, 64)
	if err != nil || u > uint64(math.MaxInt64)+1 {
		return 0, errOutOfRange
	}
	// The magnitude times the factor must fit int64 (isUnsafeMultiplication), then the range.
	f := int64(factor)
	var v int64
	switch {
	case neg && u == uint64(math.MaxInt64)+1:
		if f != 1 {
			return 0, errOutOfRange
		}
		v = math.MinInt64
	case u > uint64(math.MaxInt64)/factor:
		return 0, errOutOfRange
	case neg:
		v = -int64(u) * f
	default:
		v = int64(u) * f
	}
	if v < min || v > max {
		return 0, errOutOfRange
	}
	return v / int64(divisor), nil
}

// sizeValue is a uint64 option taking unit suffixes.
type sizeValue uint64

func (v *sizeValue) String() string { return strconv.FormatUint(uint64(*v), 10) }
func (v *sizeValue) Type() string   { return "uint64" }

func (v *sizeValue) Set(s string) error {
	n, err := ParseUint(s, math.MaxUint64)
	if err != nil {
		return err
	}
	*v = sizeValue(n)
	return nil
}

// int64Value is an int64 option taking unit suffixes.
type int64Value int64

func (v *int64Value) String() string { return strconv.FormatInt(int64(*v), 10) }
func (v *int64Value) Type() string   { return "int64" }

func (v *int64Value) Set(s string) error {
	n, err := ParseInt(s, math.MinInt64, math.MaxInt64)
	if err != nil {
		return err
	}
	*v = int64Value(n)
	return nil
}

// intValue is an int option taking unit suffixes (thread counts: `--threads 2k` is accepted
// by the tools too).
type intValue int

func (v *intValue) String() string { return strconv.Itoa(int(*v)) }
func (v *intValue) Type() string   { return "int" }

func (v *intValue) Set(s string) error {
	n, err := ParseInt(s, math.MinInt, math.MaxInt)
	if err != nil {
		return err
	}
	*v = intValue(n)
	return nil
}

// SizeVar defines a uint64 option (a size in bytes, a count) that takes the ArangoDB tools'
// unit suffixes: `64MiB`, `1GB`, `512k`. It stays of type "uint64" (fs.GetUint64 works).
func SizeVar(fs *pflag.FlagSet, p *uint64, name string, value uint64, usage string) {
	*p = value
	fs.Var((*sizeValue)(p), name, usage)
}

// Size is SizeVar returning a new variable.
func Size(fs *pflag.FlagSet, name string, value uint64, usage string) *uint64 {
	p := new(uint64)
	SizeVar(fs, p, name, value, usage)
	return p
}

// Int64Var is SizeVar for a signed int64 option.
func Int64Var(fs *pflag.FlagSet, p *int64, name string, value int64, usage string) {
	*p = value
	fs.Var((*int64Value)(p), name, usage)
}

// IntVar is SizeVar for an int option.
func IntVar(fs *pflag.FlagSet, p *int, name string, value int, usage string) {
	*p = value
	fs.Var((*intValue)(p), name, usage)
}

// uintValue is an int variable read as the tools' unsigned option of typ ("uint32" or
// "uint64"): no negative values, the type's range, unit suffixes.
type uintValue struct {
	p   *int
	typ string
}

func (v uintValue) String() string {
	if v.p == nil {
		return "0"
	}
	return strconv.Itoa(*v.p)
}
func (v uintValue) Type() string { return v.typ }

func (v uintValue) Set(s string) error {
	limit := uint64(math.MaxUint32)
	if v.typ == "uint64" {
		limit = uint64(math.MaxInt)
	}
	n, err := ParseUint(s, limit)
	if err != nil {
		return err
	}
	*v.p = int(n)
	return nil
}

// Uint32Var is IntVar for an option the ArangoDB tools declare as uint32 (--threads): no
// negative values, and "uint32" in --help and --dump-options.
func Uint32Var(fs *pflag.FlagSet, p *int, name string, value int, usage string) {
	*p = value
	fs.Var(uintValue{p, "uint32"}, name, usage)
}

// Uint64IntVar is IntVar for an option the ArangoDB tools declare as uint64.
func Uint64IntVar(fs *pflag.FlagSet, p *int, name string, value int, usage string) {
	*p = value
	fs.Var(uintValue{p, "uint64"}, name, usage)
}
