package cliflag

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/pflag"
)

// sectionTitles are the section names and descriptions of the ArangoDB client tools
// (Section 'server' (configure server connection)): ApplicationServer::collectOptions for the
// general section, ClientFeature for server and ssl, LoggerFeature for log, RandomFeature,
// TempFeature. A section not listed here is described by its name.
var sectionTitles = map[string][2]string{
	"":           {"general options", "general settings"},
	"server":     {"server", "server connection"},
	"ssl":        {"ssl", "SSL communication"},
	"log":        {"log", "logging"},
	"random":     {"random", "random generator"},
	"temp":       {"temp", "temporary files"},
	"encryption": {"encryption", "encryption"},
}

// section is one group of options, named by the option prefix before the first dot.
type section struct {
	name    string
	options []option
}

func (s section) title() (display, description string) {
	if t, ok := sectionTitles[s.name]; ok {
		return t[0], t[1]
	}
	return s.name, s.name
}

// visible reports whether the section has an option plain --help shows (ArangoDB's
// Section::hasOptions).
func (s section) visible() bool {
	return slices.ContainsFunc(s.options, func(o option) bool { return !o.flag.Hidden })
}

// sections groups fs's options by section, the general section ("") first and the others
// sorted by name, as ArangoDB keeps them in a std::map.
func sections(fs *pflag.FlagSet) []section {
	var out []section
	for _, o := range options(fs) {
		i := slices.IndexFunc(out, func(s section) bool { return s.name == o.section })
		if i < 0 {
			out = append(out, section{name: o.section})
			i = len(out) - 1
		}
		out[i].options = append(out[i].options, o)
	}
	slices.SortFunc(out, func(a, b section) int { return strings.Compare(a.name, b.name) })
	return out
}

// SectionNames lists the sections --help-<section> accepts for fs: those with an option
// plain --help shows, "general" for the one without a name.
func SectionNames(fs *pflag.FlagSet) []string {
	var names []string
	for _, s := range sections(fs) {
		if s.visible() {
			names = append(names, helpName(s.name))
		}
	}
	return names
}

func helpName(section string) string {
	if section == "" {
		return "general"
	}
	return section
}

// nameWithType is the option column of --help: "--overwrite <boolean>",
// "--server.endpoint <string...>" (ArangoDB's Option::nameWithType). The type tells users
// that a boolean takes a value: `--overwrite true`, `--overwrite false`.
func (o option) nameWithType() string {
	s := "--" + o.name
	if o.flag.Shorthand != "" {
		s += ", -" + o.flag.Shorthand
	}
	return s + " <" + o.typ + ">"
}

// helpText is the description column: the usage, then the default unless the option is a
// command (Option::printHelp) or the usage says its default itself ("default: true on a
// cluster"), which a second "(default: false)" would contradict.
func (o option) helpText() string {
	if o.command || strings.Contains(strings.ToLower(o.flag.Usage), "default") {
		return o.flag.Usage
	}
	return o.flag.Usage + " (default: " + o.defaultString() + ")"
}

// WriteHelp writes what --help (search "*"), --help-all (".") or --help-<section> shows,
// wrapped to width columns. It is Info's answer; commands call Info.
func WriteHelp(w io.Writer, fs *pflag.FlagSet, p Program, search string, width int) error {
	return writeHelp(w, fs, p, search, width)
}

// writeHelp follows ArangoDB's ProgramOptions::printHelp: the usage, then for "*" every
// section that has a non-hidden option (or p.Common's) without the hidden ones, then the
// --help-<section> list and the hint to --help-all; for "." every option, hidden ones
// included; for a section name only that section's non-hidden options. An unknown section is
// an error naming the known ones (the ArangoDB tools print an empty list instead).
func writeHelp(w io.Writer, fs *pflag.FlagSet, p Program, search string, width int) error {
	all := sections(fs)
	var shown []section
	switch search {
	case "*":
		for _, s := range all {
			if s.visible() && (p.Common == nil || slices.Contains(p.Common, s.name)) {
				shown = append(shown, s)
			}
		}
	case ".":
		shown = all
	default:
		name := search
		if name == "general" {
			name = ""
		}
		i := slices.IndexFunc(all, func(s section) bool { return s.name == name && s.visible() })
		if i < 0 {
			return fmt.Errorf("no option section %q; the sections are: %s (or --help-all for every option)",
				search, strings.TrimSpace(helpOptions(fs)))
		}
		shown = all[i : i+1]
	}
	showHidden := search == "."

	var b strings.Builder
	if p.Usage != "" {
		b.WriteString(strings.TrimRight(p.Usage, "\n") + "\n\n")
	}
	if p.Summary != "" {
		b.WriteString(wrapParagraphs(p.Summary, width) + "\n\n")
	}
	if !showHidden {
		b.WriteString("Common options (excluding hidden/uncommon options):\n\n")
	}
	ow := 0
	for _, s := range shown {
		for _, o := range s.options {
			if showHidden || !o.flag.Hidden {
				ow = max(ow, len(o.nameWithType()))
			}
		}
	}
	textWidth := max(width-ow-6, 30)
	for _, s := range shown {
		display, description := s.title()
		fmt.Fprintf(&b, "Section '%s' (configure %s)\n", display, description)
		for _, o := range s.options {
			if o.flag.Hidden && !showHidden {
				continue
			}
			lines := wrap(o.helpText(), textWidth)
			for i, l := range lines {
				col := ""
				if i == 0 {
					col = o.nameWithType()
				}
				fmt.Fprintf(&b, "  %-*s   %s\n", ow, col, l)
			}
		}
		b.WriteString("\n")
	}
	if search == "*" {
		b.WriteString("For more information use:" + helpOptions(fs) + "\n")
	}
	b.WriteString("\n")
	if !showHidden {
		b.WriteString(wrapParagraphs("More uncommon options are not shown by default. To show these options, use --help-all", width) + "\n\n")
	}
	if p.Footer != "" {
		b.WriteString(strings.TrimRight(p.Footer, "\n") + "\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// helpOptions is the list of --help-<section> options, as ProgramOptions::printSectionsHelp
// prints it.
func helpOptions(fs *pflag.FlagSet) string {
	var b strings.Builder
	for _, n := range SectionNames(fs) {
		b.WriteString("  --help-" + n)
	}
	return b.String()
}

// wrap breaks text into lines of at most width columns at spaces (a longer word gets a line
// of its own); newlines in text are kept.
func wrap(text string, width int) []string {
	var lines []string
	for _, para := range strings.Split(text, "\n") {
		line := ""
		for _, word := range strings.Fields(para) {
			switch {
			case line == "":
				line = word
			case len(line)+1+len(word) <= width:
				line += " " + word
			default:
				lines = append(lines, line)
				line = word
			}
		}
		lines = append(lines, line)
	}
	return lines
}

// wrapParagraphs wraps each line of text to width.
func wrapParagraphs(text string, width int) string {
	return strings.Join(wrap(strings.TrimRight(text, "\n"), width), "\n")
}
