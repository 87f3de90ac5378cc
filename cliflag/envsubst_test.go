package cliflag

import (
	"os"
	"strconv"
	"testing"

	"github.com/spf13/pflag"
)

// TestSubstitute: the cases of Translator.cpp EnvironmentTranslator.
func TestSubstitute(t *testing.T) {
	t.Setenv("GODUMP_T_USER", "alice")
	t.Setenv("GODUMP_T_EMPTY", "")
	defines := map[string]string{"GODUMP_T_DEF": "defined", "GODUMP_T_USER": "not-used", "GODUMP_T_EMPTY": "from-define"}
	for in, want := range map[string]string{
		"":                                   "",
		"plain":                              "plain",
		"@GODUMP_T_USER@":                    "alice",
		"x-@GODUMP_T_USER@-y":                "x-alice-y",
		"@GODUMP_T_USER@@GODUMP_T_USER@":     "alicealice",
		"@GODUMP_T_UNSET@":                   "",
		"a@GODUMP_T_UNSET@b":                 "ab",
		"@GODUMP_T_DEF@":                     "defined",
		"@GODUMP_T_EMPTY@":                   "from-define", // set but empty: the definition
		"p@@ss":                              "p@ss",
		"@@":                                 "@",
		"@@@@":                               "@@",
		"@@GODUMP_T_USER@@":                  "@GODUMP_T_USER@",
		"user@example.com":                   "user@example.com", // no closing @: kept
		"a@":                                 "a@",
		"@":                                  "@",
		"@@@GODUMP_T_USER@":                  "@alice",
		"@GODUMP_T_USER@@@":                  "alice@",
		"mail@host@GODUMP_T_USER@":           "mailGODUMP_T_USER@", // @host@ is a (unset) name
		"@TEMP_BASE_DIR@/x":                  os.TempDir() + "/x",
		"log-@PID@":                          "log-" + strconv.Itoa(os.Getpid()),
		"@GODUMP_T_USER@ and @GODUMP_T_DEF@": "alice and defined",
	} {
		if got := Substitute(in, defines); got != want {
			t.Errorf("Substitute(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestAddDefines(t *testing.T) {
	d := map[string]string{}
	addDefines(d, []string{"A=1,B=2", "C", "A=3", "D=x=y"})
	if d["A"] != "3" || d["B"] != "2" || d["D"] != "x=y" {
		t.Fatalf("%v", d)
	}
	if v, ok := d["C"]; !ok || v != "" {
		t.Fatalf("C: %q %v", v, ok)
	}
}

// TestParseSubstitutesCommandLine: every option value from the command line is expanded
// (--x v, --x=v, shorthand, repeated, booleans), positional arguments are not, and the flags'
// values are the originals again afterwards.
func TestParseSubstitutesCommandLine(t *testing.T) {
	t.Setenv("GODUMP_T_DB", "shop")
	t.Setenv("GODUMP_T_PW", "s3cret")
	t.Setenv("GODUMP_T_NO", "false")
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	db := fs.String("server.database", "_system", "")
	pw := fs.String("server.password", "", "")
	user := fs.StringP("server.username", "u", "root", "")
	colls := fs.StringArray("collection", nil, "")
	compress := Bool(fs, "compress-output", true, "")
	batch := Size(fs, "batch-size", 0, "")
	t.Setenv("GODUMP_T_SIZE", "64MiB")
	err := Parse(fs, []string{"--server.database", "@GODUMP_T_DB@", "--server.password=p@@@GODUMP_T_PW@", "-u@GODUMP_T_DB@-admin",
		"--collection", "a@GODUMP_T_DB@", "--collection=@GODUMP_T_DB@b", "--compress-output=@GODUMP_T_NO@",
		"--batch-size", "@GODUMP_T_SIZE@", "@GODUMP_T_DB@", "--", "@GODUMP_T_PW@"})
	if err != nil {
		t.Fatal(err)
	}
	if *db != "shop" || *pw != "p@s3cret" || *user != "shop-admin" || *compress || *batch != 64<<20 {
		t.Fatalf("database %q password %q user %q compress %v batch %d", *db, *pw, *user, *compress, *batch)
	}
	if len(*colls) != 2 || (*colls)[0] != "ashop" || (*colls)[1] != "shopb" {
		t.Fatalf("collections %q", *colls)
	}
	if args := fs.Args(); len(args) != 2 || args[0] != "@GODUMP_T_DB@" || args[1] != "@GODUMP_T_PW@" {
		t.Fatalf("positional %q", args)
	}
	if _, ok := fs.Lookup("server.database").Value.(substitutingValue); ok {
		t.Fatal("the substituting wrapper stayed on the flag")
	}
	// --define is for configuration files: the command line does not see its definitions.
	fs = pflag.NewFlagSet("t", pflag.ContinueOnError)
	db = fs.String("server.database", "_system", "")
	if err := Parse(fs, []string{"--define", "GODUMP_T_X=x", "--server.database", "d@GODUMP_T_X@"}); err != nil || *db != "d" {
		t.Fatalf("--define on the command line: %v %q", err, *db)
	}
}
