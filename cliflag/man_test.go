package cliflag

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"
)

func manPage(t *testing.T) string {
	t.Helper()
	fs, p := testProgramWithSub()
	var out bytes.Buffer
	handled, err := Info(fs, []string{"--man"}, p, &out)
	if !handled || err != nil {
		t.Fatalf("--man: handled %v, err %v", handled, err)
	}
	return out.String()
}

func TestManHasEveryOption(t *testing.T) {
	page := manPage(t)
	fs, p := testProgramWithSub()
	AddInfoFlags(fs)
	for _, name := range append(visibleOptions(fs), visibleOptions(p.Subcommands[0].Flags)...) {
		if !strings.Contains(page, `\fB`+roffEscape("--"+name)+`\fR`) {
			t.Errorf("man page lacks --%s", name)
		}
	}
	for _, hidden := range []string{"envelope", "dump-options", "completion"} {
		if strings.Contains(page, `\fB`+roffEscape("--"+hidden)+`\fR`) {
			t.Errorf("man page lists hidden --%s", hidden)
		}
	}
	order := []string{
		`.TH "GODUMP" 1 `,
		".SH NAME\ngodump \\- Dumps ArangoDB databases into a directory\n",
		".SH SYNOPSIS\n.nf\ngodump [<options>] [<output\\-directory>]\ngodump hotbackup <command> [<options>]\n.fi\n",
		".SH DESCRIPTION\n",
		".SH OPTIONS\n",
		`.SS "General settings"`,
		".TP\n\\fB\\-\\-overwrite\\fR \\fI<boolean>\\fR\nwrite into an existing, non\\-empty output directory (default: false)\n",
		`.SS "Server connection (\-\-server.*)"`,
		`\fB\-\-server.endpoint\fR \fI<string...>\fR`,
		`.SS "SSL communication (\-\-ssl.*)"`,
		".SH COMMANDS\n",
		`.SS "godump hotbackup create|list|delete"`,
		`\fB\-\-label\fR`,
		".SH EXIT STATUS\n.nf\n  0  the dump is complete\n",
	}
	inOrder(t, page, order)
	if strings.Contains(page, "Exit codes:") {
		t.Error("the footer's title line is repeated under EXIT STATUS")
	}
}

// TestManRenders formats the page with groff, where installed, and fails on its warnings.
func TestManRenders(t *testing.T) {
	if _, err := exec.LookPath("groff"); err != nil {
		t.Skip("groff not installed")
	}
	cmd := exec.Command("groff", "-man", "-Tutf8", "-ww", "-rLL=80n", "-P-bcou") // plain text: no escapes, no overstrikes
	cmd.Stdin = strings.NewReader(manPage(t))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil || stderr.Len() > 0 {
		t.Fatalf("groff: %v\n%s", err, stderr.String())
	}
	text := stdout.String()
	for _, want := range []string{"NAME", "SYNOPSIS", "OPTIONS", "EXIT STATUS", "--overwrite <boolean>",
		"--server.endpoint <string...>", "godump hotbackup create|list|delete"} {
		if !strings.Contains(text, want) {
			t.Errorf("rendered page lacks %q:\n%s", want, text)
		}
	}
}

func TestManEscapes(t *testing.T) {
	for in, want := range map[string]string{
		`a\b`:      `a\eb`,
		"--x":      `\-\-x`,
		".starts":  `\&.starts` + "\n",
		"'quote":   `\&'quote` + "\n",
		"ordinary": "ordinary\n",
	} {
		got := roffEscape(in)
		if strings.HasPrefix(in, ".") || strings.HasPrefix(in, "'") || in == "ordinary" {
			got = roffLine(in)
		}
		if got != want {
			t.Errorf("%q: got %q, want %q", in, got, want)
		}
	}
}
