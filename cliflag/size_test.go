package cliflag

import (
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

// TestParseUintSuffixes: every spelling of UnitsHelper.cpp extractSuffix, and % with base 1.
func TestParseUintSuffixes(t *testing.T) {
	for in, want := range map[string]uint64{
		"0": 0, "123": 123, "+7": 7, " 42 ": 42, "\t42\r\n": 42, "64 # a comment": 64, "1MiB#x": 1 << 20,
		"1b": 1, "3B": 3,
		"2k": 2000, "2K": 2000, "2kb": 2000, "2KB": 2000,
		"2m": 2e6, "2M": 2e6, "2mb": 2e6, "2MB": 2e6,
		"2g": 2e9, "2G": 2e9, "2gb": 2e9, "2GB": 2e9,
		"2t": 2e12, "2T": 2e12, "2tb": 2e12, "2TB": 2e12,
		"2kib": 2048, "2KiB": 2048, "2KIB": 2048,
		"64mib": 64 << 20, "64MiB": 64 << 20, "64MIB": 64 << 20,
		"1gib": 1 << 30, "1GiB": 1 << 30, "1GIB": 1 << 30,
		"1tib": 1 << 40, "1TiB": 1 << 40, "1TIB": 1 << 40,
		"18446744073709551615": math.MaxUint64,
		"50%":                  0, "100%": 1, "250%": 2, "0%": 0,
	} {
		got, err := ParseUint(in, math.MaxUint64)
		if err != nil || got != want {
			t.Errorf("ParseUint(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	// 2^24 TiB is 2^64 and does not fit (below); one less does.
	if got, err := ParseUint("16777215TiB", math.MaxUint64); err != nil || got != (1<<24-1)<<40 {
		t.Errorf("16777215TiB = %d, %v", got, err)
	}
}

func TestParseUintRefuses(t *testing.T) {
	for _, in := range []string{
		"", " ", "#", "abc", "1.5GB", "1e6", "-1", "--1", "++1", "0x10", "1 MiB", "64 mb",
		"1kB", "1Kb", "1Mib", "1mIB", "1Gb", "1KiB ", "1%%", "%", "MiB", "1KiBs", "1_000",
	} {
		if in == "1KiB " { // trailing blanks are trimmed: accepted
			if v, err := ParseUint(in, math.MaxUint64); err != nil || v != 1024 {
				t.Errorf("ParseUint(%q) = %d, %v", in, v, err)
			}
			continue
		}
		_, err := ParseUint(in, math.MaxUint64)
		if err == nil || !strings.Contains(err.Error(), "not a valid number") || !strings.Contains(err.Error(), "kib, mib") {
			t.Errorf("ParseUint(%q): err %v, want a clear refusal listing the units", in, err)
		}
	}
	for _, in := range []string{"18446744073709551616", "16777216TiB", "18446744073709552k", "99999999999999999999999"} {
		if _, err := ParseUint(in, math.MaxUint64); err != errOutOfRange {
			t.Errorf("ParseUint(%q): err %v, want out of range", in, err)
		}
	}
	if _, err := ParseUint("5k", 4999); err != errOutOfRange {
		t.Errorf("5k with max 4999: %v", err)
	}
}

func TestParseInt(t *testing.T) {
	for in, want := range map[string]int64{
		"-1": -1, "+1": 1, "-2k": -2000, "-1KiB": -1024, "-50%": 0, "-250%": -2,
		"9223372036854775807": math.MaxInt64, "-9223372036854775808": math.MinInt64,
	} {
		if got, err := ParseInt(in, math.MinInt64, math.MaxInt64); err != nil || got != want {
			t.Errorf("ParseInt(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"9223372036854775808", "-9223372036854775809", "9223372036854776k", "-9223372036854775808k"} {
		if _, err := ParseInt(in, math.MinInt64, math.MaxInt64); err != errOutOfRange {
			t.Errorf("ParseInt(%q): %v, want out of range", in, err)
		}
	}
	for _, in := range []string{"", "-", "+-1", "1.0", "- 1"} {
		if _, err := ParseInt(in, math.MinInt64, math.MaxInt64); err != errNotANumber {
			t.Errorf("ParseInt(%q): %v, want not a number", in, err)
		}
	}
}

// TestSizeFlags: the flags take suffixes on the command line, print plain numbers and keep
// pflag's type names.
func TestSizeFlags(t *testing.T) {
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	var batch uint64
	var i64 int64
	var threads int
	SizeVar(fs, &batch, "batch-size", 8<<20, "")
	Int64Var(fs, &i64, "offset", -1, "")
	IntVar(fs, &threads, "threads", 2, "")
	chunk := Size(fs, "chunk", 0, "")
	if f := fs.Lookup("batch-size"); f.DefValue != "8388608" || f.Value.Type() != "uint64" {
		t.Fatalf("default %q type %q", f.DefValue, f.Value.Type())
	}
	if fs.Lookup("offset").DefValue != "-1" || fs.Lookup("threads").Value.Type() != "int" {
		t.Fatal("int64/int flags")
	}
	if err := Parse(fs, []string{"--batch-size", "64MiB", "--offset=-2k", "--threads", "1k", "--chunk=1GB"}); err != nil {
		t.Fatal(err)
	}
	if batch != 64<<20 || i64 != -2000 || threads != 1000 || *chunk != 1e9 {
		t.Fatalf("batch %d offset %d threads %d chunk %d", batch, i64, threads, *chunk)
	}
	if got, _ := fs.GetUint64("batch-size"); got != 64<<20 || fs.Lookup("batch-size").Value.String() != "67108864" {
		t.Fatalf("GetUint64 %d, String %q", got, fs.Lookup("batch-size").Value.String())
	}
	err := Parse(fs, []string{"--batch-size", "1.5GB"})
	if err == nil || !strings.Contains(err.Error(), `invalid argument "1.5GB" for "--batch-size" flag: not a valid number`) {
		t.Fatalf("1.5GB: %v", err)
	}
	if err := Parse(fs, []string{"--threads", "-1"}); err != nil || threads != -1 {
		t.Fatalf("--threads -1: %v %d", err, threads)
	}
}

// FuzzParseUint: never panics; a plain decimal number parses as strconv does; a value that
// parses prints back as a plain number that parses to itself.
func FuzzParseUint(f *testing.F) {
	for _, s := range []string{"0", "64MiB", "1GB", "512k", "50%", "1.5GB", "+1", "-1", "18446744073709551615", "1 # c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseUint(s, math.MaxUint64)
		if onlyDigits(s) {
			want, werr := strconv.ParseUint(s, 10, 64)
			if (werr == nil) != (err == nil) || (err == nil && v != want) {
				t.Fatalf("%q: %d %v, strconv %d %v", s, v, err, want, werr)
			}
		}
		if err == nil {
			if back, err := ParseUint(strconv.FormatUint(v, 10), math.MaxUint64); err != nil || back != v {
				t.Fatalf("%q: %d does not parse back: %d %v", s, v, back, err)
			}
		}
	})
}
