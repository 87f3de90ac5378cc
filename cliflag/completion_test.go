package cliflag

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

// testProgramWithSub is testProgram with a hotbackup subcommand that has its own options.
func testProgramWithSub() (*pflag.FlagSet, Program) {
	fs, p := testProgram()
	hot := pflag.NewFlagSet("godump hotbackup", pflag.ContinueOnError)
	hot.String("label", "", "create: label appended to the backup id")
	Bool(hot, "allow-inconsistent", false, "create: take a possibly inconsistent backup")
	hot.String("rclone-config-file", "", "upload/download: JSON file of rclone's remotes")
	hot.String("remote-path", "", "upload/download: rclone remote and path, <remote>:<path>")
	_ = hot.SetAnnotation("remote-path", CompleteAnnotation, []string{"none"})
	hot.String("server.endpoint", "", "endpoint to connect to")
	p.Subcommands = []Subcommand{{Name: "hotbackup", Summary: "Hot backups through the server's Hot Backup API.",
		Words: []string{"create", "list", "delete"}, Flags: hot}}
	return fs, p
}

func completion(t *testing.T, shell string) string {
	t.Helper()
	fs, p := testProgramWithSub()
	var out bytes.Buffer
	handled, err := Info(fs, []string{"--completion", shell}, p, &out)
	if !handled || err != nil {
		t.Fatalf("--completion %s: handled %v, err %v", shell, handled, err)
	}
	return out.String()
}

// visibleOptions are the options every script must offer.
func visibleOptions(fs *pflag.FlagSet) []string {
	var names []string
	fs.VisitAll(func(f *pflag.Flag) {
		if !f.Hidden && f.Name != "help" {
			names = append(names, f.Name)
		}
	})
	return names
}

func TestCompletionHasEveryOption(t *testing.T) {
	fs, p := testProgramWithSub()
	AddInfoFlags(fs)
	for _, shell := range Shells {
		script := completion(t, shell)
		for _, name := range append(visibleOptions(fs), visibleOptions(p.Subcommands[0].Flags)...) {
			want := "--" + name
			if shell == "fish" {
				want = "-l '" + name + "'"
			}
			if !strings.Contains(script, want) {
				t.Errorf("%s script lacks %s", shell, want)
			}
		}
		var code []string // the script without its comments
		for _, l := range strings.Split(script, "\n") {
			if !strings.HasPrefix(l, "#") {
				code = append(code, l)
			}
		}
		body := strings.Join(code, "\n")
		for _, hidden := range []string{"envelope", "dump-options", "completion", "man"} {
			if strings.Contains(body, "--"+hidden) || strings.Contains(body, "-l '"+hidden+"'") {
				t.Errorf("%s script offers hidden --%s", shell, hidden)
			}
		}
		helpAll, helpServer := "--help-all", "--help-server"
		if shell == "fish" {
			helpAll, helpServer = "-l 'help-all'", "-l 'help-server'"
		}
		for _, want := range []string{"hotbackup", "create", "list", helpAll, helpServer} {
			if !strings.Contains(script, want) {
				t.Errorf("%s script lacks %q", shell, want)
			}
		}
	}
}

func TestCompletionValueKinds(t *testing.T) {
	bash := completion(t, "bash")
	for _, want := range []string{
		`bools="--overwrite --server.authentication --split-files --ssl.verify-certificate"`,
		`dirs="--output-directory"`,
		`files="--maskings"`,
		`files="--rclone-config-file"`, // the subcommand's
		`(( COMP_CWORD == 1 )) && args="hotbackup"`,
		`args="create list delete"`,
		"complete -F _godump godump",
	} {
		if !strings.Contains(bash, want) {
			t.Errorf("bash script lacks %q", want)
		}
	}
	if strings.Contains(bash, `files="--rclone-config-file --remote-path"`) {
		t.Error("the annotation did not keep --remote-path from completing files")
	}
	zsh := completion(t, "zsh")
	for _, want := range []string{"#compdef godump", "'--overwrite[write into an existing, non-empty output directory]:boolean:(true false)'",
		"'*--collection[dump only this collection (repeatable)]:value: '", "'(- *)--version[print the version and exit]'", "'--output-directory[output directory]:directory:_files -/'",
		"compdef _godump godump", "_godump_hotbackup() {"} {
		if !strings.Contains(zsh, want) {
			t.Errorf("zsh script lacks %q", want)
		}
	}
	fish := completion(t, "fish")
	for _, want := range []string{"-l 'overwrite' -x -a 'true false'", "-l 'maskings' -r -F",
		"-n '__fish_seen_subcommand_from hotbackup' -l 'label' -x", "-n '__fish_use_subcommand' -a 'hotbackup'",
		`-d 'verify the server\'s TLS certificate'`} {
		if !strings.Contains(fish, want) {
			t.Errorf("fish script lacks %q", want)
		}
	}
}

func TestCompletionUnknownShell(t *testing.T) {
	fs, p := testProgram()
	sub := p
	sub.Name = "godump hotbackup"
	if handled, err := Info(fs, []string{"--completion", "bash"}, sub, &bytes.Buffer{}); !handled || err == nil ||
		!strings.Contains(err.Error(), "run godump --completion bash") {
		t.Errorf("subcommand completion: handled %v, err %v", handled, err)
	}
	for _, args := range [][]string{{"--completion", "tcsh"}, {"--completion=tcsh"}, {"--completion"}} {
		var out bytes.Buffer
		handled, err := Info(fs, args, p, &out)
		if !handled || err == nil || !strings.Contains(err.Error(), "bash, zsh, fish") || out.Len() != 0 {
			t.Errorf("%q: handled %v, err %v, out %q", args, handled, err, out.String())
		}
	}
}

// TestCompletionScriptsParse checks each script with its shell, where the shell is installed.
func TestCompletionScriptsParse(t *testing.T) {
	dir := t.TempDir()
	for shell, check := range map[string][]string{
		"bash": {"bash", "-n"},
		"zsh":  {"zsh", "-n"},
		"fish": {"fish", "--no-execute"},
	} {
		if _, err := exec.LookPath(check[0]); err != nil {
			t.Logf("%s not installed, %s script not parsed", check[0], shell)
			continue
		}
		file := filepath.Join(dir, "godump."+shell)
		if err := os.WriteFile(file, []byte(completion(t, shell)), 0o644); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command(check[0], append(check[1:], file)...).CombinedOutput(); err != nil {
			t.Errorf("%s rejects the script: %v\n%s", shell, err, out)
		}
	}
}

// TestCompletionBashCompletes runs the bash function for a few command lines.
func TestCompletionBashCompletes(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("bash not installed")
	}
	script := completion(t, "bash")
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "dumpdir"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		line string // the words; the last one is completed
		want []string
		not  []string
	}{
		{"godump --overw", []string{"--overwrite"}, nil},
		{"godump --overwrite ", []string{"true", "false"}, nil},
		{"godump --output-directory dum", []string{"dumpdir"}, nil},
		{"godump hot", []string{"hotbackup"}, nil},
		{"godump hotbackup cr", []string{"create"}, nil},
		{"godump hotbackup --la", []string{"--label"}, []string{"--overwrite"}},
		{"godump --server.database ", nil, []string{"true", "hotbackup"}},
	} {
		words := strings.Split(c.line, " ")
		prog := script + "\nCOMP_WORDS=(" + quoteWords(words) + ")\nCOMP_CWORD=" +
			strconv.Itoa(len(words)-1) + "\n_godump\nprintf '%s\\n' \"${COMPREPLY[@]}\"\n"
		cmd := exec.Command("bash", "-c", prog)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%q: %v\n%s", c.line, err, out)
		}
		got := strings.Fields(string(out))
		for _, w := range c.want {
			if !slices.Contains(got, w) {
				t.Errorf("%q: got %q, want %q among them", c.line, got, w)
			}
		}
		for _, w := range c.not {
			if slices.Contains(got, w) {
				t.Errorf("%q: got %q, which should not have %q", c.line, got, w)
			}
		}
	}
}

func quoteWords(ws []string) string {
	q := make([]string, len(ws))
	for i, w := range ws {
		q[i] = "'" + w + "'"
	}
	return strings.Join(q, " ")
}
