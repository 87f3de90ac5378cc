package cliflag

import (
	"fmt"
	"io"
	"runtime/debug"
	"strings"

	"github.com/spf13/pflag"
)

// WriteMan writes a man page (roff, man(7) macros) for p with the options of fs, grouped by
// section as --help groups them, and each subcommand's options. Hidden options are left out,
// as plain --help leaves them out. It is what the hidden --man option prints (`make man`).
func WriteMan(w io.Writer, fs *pflag.FlagSet, p Program) error {
	if p.Name == "" {
		p.Name = fs.Name()
	}
	bi, _ := debug.ReadBuildInfo()
	version, _, at, _ := buildFacts(p.Version, bi)
	date, _, _ := strings.Cut(at, "T")

	var b strings.Builder
	// "godump hotbackup" is page godump-hotbackup(1), as git-commit(1) is "git commit".
	page := strings.ToUpper(strings.ReplaceAll(p.Name, " ", "-"))
	fmt.Fprintf(&b, ".TH %s 1 %s %s \"User Commands\"\n", roffQuote(page), roffQuote(date),
		roffQuote(p.Name+" "+version))
	b.WriteString(".SH NAME\n")
	name := roffEscape(p.Name)
	if s := firstSentence(p.Summary); s != "" {
		name += ` \- ` + roffEscape(s)
	}
	b.WriteString(roffLine(name))
	if p.Usage != "" {
		b.WriteString(".SH SYNOPSIS\n.nf\n")
		for _, l := range strings.Split(strings.TrimRight(p.Usage, "\n"), "\n") {
			l = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(l), "Usage:"))
			b.WriteString(roffLine(roffEscape(l)))
		}
		b.WriteString(".fi\n")
	}
	if p.Summary != "" {
		b.WriteString(".SH DESCRIPTION\n")
		writeRoffParagraphs(&b, p.Summary)
	}
	b.WriteString(".SH OPTIONS\n")
	b.WriteString(roffLine(`Boolean options take a value: \fB\-\-name true\fR or \fB\-\-name false\fR ` +
		`(also \fB\-\-name=false\fR; a bare \fB\-\-name\fR means true). ` +
		`Options that take a list may be given more than once. ` +
		`\fB\-\-help\-all\fR also shows the hidden options, \fB\-\-help\-\fR\fIsection\fR one section.`))
	writeManOptions(&b, fs, false)
	if len(p.Subcommands) > 0 {
		b.WriteString(".SH COMMANDS\n")
		for _, sc := range p.Subcommands {
			title := p.Name + " " + sc.Name
			if len(sc.Words) > 0 {
				title += " " + strings.Join(sc.Words, "|")
			}
			fmt.Fprintf(&b, ".SS %s\n", roffQuote(title))
			if sc.Summary != "" {
				writeRoffParagraphs(&b, sc.Summary)
			}
			if sc.Flags != nil {
				writeManOptions(&b, sc.Flags, true)
			}
		}
	}
	if p.Footer != "" {
		footer := strings.TrimRight(p.Footer, "\n")
		if head, rest, ok := strings.Cut(footer, "\n"); ok && strings.HasSuffix(strings.TrimSpace(head), ":") {
			footer = rest // "Exit codes:" is the section title already
		}
		b.WriteString(".SH EXIT STATUS\n.nf\n")
		for _, l := range strings.Split(footer, "\n") {
			b.WriteString(roffLine(roffEscape(l)))
		}
		b.WriteString(".fi\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// writeManOptions writes fs's non-hidden options by section, one .TP entry each. A
// subcommand's sections get an italic line as their title, the program's a subsection.
func writeManOptions(b *strings.Builder, fs *pflag.FlagSet, sub bool) {
	for _, s := range sections(fs) {
		if !s.visible() {
			continue
		}
		_, description := s.title()
		title := strings.ToUpper(description[:1]) + description[1:]
		if s.name != "" {
			title += " (--" + s.name + ".*)"
		}
		if sub {
			fmt.Fprintf(b, ".PP\n.I %s\n", roffQuote(title))
		} else {
			fmt.Fprintf(b, ".SS %s\n", roffQuote(title))
		}
		for _, o := range s.options {
			if o.flag.Hidden {
				continue
			}
			b.WriteString(".TP\n")
			b.WriteString(roffLine(`\fB` + roffEscape("--"+o.name) + `\fR \fI` + roffEscape("<"+o.typ+">") + `\fR`))
			b.WriteString(roffLine(roffEscape(o.helpText())))
		}
	}
}

func writeRoffParagraphs(b *strings.Builder, text string) {
	for i, para := range strings.Split(strings.TrimSpace(text), "\n\n") {
		if i > 0 {
			b.WriteString(".PP\n")
		}
		b.WriteString(roffLine(roffEscape(strings.Join(strings.Fields(para), " "))))
	}
}

// firstSentence is text up to its first ". " or line end, without the period.
func firstSentence(text string) string {
	text = strings.TrimSpace(text)
	text, _, _ = strings.Cut(text, "\n")
	if i := strings.Index(text, ". "); i >= 0 {
		text = text[:i]
	}
	return strings.TrimSuffix(text, ".")
}

// roffEscape escapes text for roff: backslashes, and hyphens as \- so that options show
// (and copy) as minus signs.
func roffEscape(s string) string {
	return strings.NewReplacer(`\`, `\e`, "-", `\-`).Replace(s)
}

// roffLine is one input line; a leading dot or apostrophe would be read as a request, \& keeps it
// text.
func roffLine(s string) string {
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		s = `\&` + s
	}
	return s + "\n"
}

// roffQuote is a macro argument in double quotes.
func roffQuote(s string) string {
	return `"` + strings.ReplaceAll(roffEscape(s), `"`, `\(dq`) + `"`
}
