package cliflag

import (
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/spf13/pflag"
)

// CompleteAnnotation is the pflag annotation (fs.SetAnnotation(name, CompleteAnnotation,
// []string{kind})) that says what completion offers after an option: "dir", "file" or
// "none". Without it, an option whose name has "directory" completes directories, one with
// "file" or "path" (or --maskings) completes files, a boolean completes true and false.
const CompleteAnnotation = "cliflag-complete"

// Shells are the shells WriteCompletion writes scripts for.
var Shells = []string{"bash", "zsh", "fish"}

// complOption is one option as a completion script offers it.
type complOption struct {
	word string // "--overwrite"
	kind string // "bool", "dir", "file", "value" (something we cannot guess), "novalue"
	desc string
	many bool // may be given more than once (vector types)
}

// complCommand is the program or one of its subcommands.
type complCommand struct {
	name      string // "" for the program itself
	options   []complOption
	words     []string // words taken as the first argument (subcommands, operations)
	wordDescs []string
	dirArg    bool // a directory is taken as an argument
}

// completeKind says what follows an option on the command line.
func completeKind(o option) string {
	if k := o.flag.Annotations[CompleteAnnotation]; len(k) > 0 {
		if k[0] == "none" {
			return "value"
		}
		return k[0]
	}
	if o.command && o.typ == "boolean" {
		return "novalue" // --version: given alone, not as --version true
	}
	if o.typ == "boolean" {
		return "bool"
	}
	if !o.takesValue() {
		return "novalue"
	}
	n := strings.ToLower(o.name)
	switch {
	case strings.Contains(n, "directory"):
		return "dir"
	case strings.Contains(n, "file"), strings.Contains(n, "path"), n == "maskings":
		return "file"
	}
	return "value"
}

// complOptions lists fs's non-hidden options and the help options.
func complOptions(fs *pflag.FlagSet) []complOption {
	out := []complOption{
		{word: "--help", kind: "novalue", desc: "show the common options and exit"},
		{word: "--help-all", kind: "novalue", desc: "show every option, hidden ones included, and exit"},
	}
	if f := fs.Lookup("help"); f != nil && f.Shorthand != "" {
		out = append(out, complOption{word: "-" + f.Shorthand, kind: "novalue", desc: "show the common options and exit"})
	}
	for _, s := range SectionNames(fs) {
		out = append(out, complOption{word: "--help-" + s, kind: "novalue", desc: "show the options of section " + s + " and exit"})
	}
	for _, o := range options(fs) {
		if o.flag.Hidden {
			continue
		}
		out = append(out, complOption{word: "--" + o.name, kind: completeKind(o), desc: shortDesc(o.flag.Usage),
			many: strings.HasSuffix(o.typ, "...")})
	}
	return out
}

// shortDesc is the first line of a usage text, cut to fit a completion menu.
func shortDesc(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 72 {
		cut := strings.LastIndexByte(s[:69], ' ')
		if cut < 20 {
			cut = 69
		}
		s = s[:cut] + "..."
	}
	return s
}

func complCommands(fs *pflag.FlagSet, p Program) []complCommand {
	top := complCommand{options: complOptions(fs), dirArg: p.PositionalDir}
	for _, sc := range p.Subcommands {
		top.words = append(top.words, sc.Name)
		top.wordDescs = append(top.wordDescs, shortDesc(sc.Summary))
	}
	cmds := []complCommand{top}
	for _, sc := range p.Subcommands {
		c := complCommand{name: sc.Name, words: sc.Words}
		for range sc.Words {
			c.wordDescs = append(c.wordDescs, "")
		}
		if sc.Flags != nil {
			c.options = complOptions(sc.Flags)
		}
		cmds = append(cmds, c)
	}
	return cmds
}

// WriteCompletion writes the completion script for shell ("bash", "zsh" or "fish") of the
// program p with the options of fs (and of p.Subcommands). It is what --completion SHELL
// prints; each script says how to load it.
func WriteCompletion(w io.Writer, fs *pflag.FlagSet, p Program, shell string) error {
	if p.Name == "" {
		p.Name = fs.Name()
	}
	if prog, sub, ok := strings.Cut(p.Name, " "); ok {
		// A shell completes a program, not "godump hotbackup": the program's script has
		// its subcommands (Program.Subcommands).
		return fmt.Errorf("completion scripts are per program: run %s --completion %s (it completes %s too)", prog, shell, sub)
	}
	cmds := complCommands(fs, p)
	var script string
	switch shell {
	case "bash":
		script = bashCompletion(p.Name, cmds)
	case "zsh":
		script = zshCompletion(p.Name, cmds)
	case "fish":
		script = fishCompletion(p.Name, cmds)
	case "":
		return fmt.Errorf("--completion needs a shell: %s", strings.Join(Shells, ", "))
	default:
		return fmt.Errorf("no completion for shell %q; the shells are: %s", shell, strings.Join(Shells, ", "))
	}
	_, err := io.WriteString(w, script)
	return err
}

var nonIdent = regexp.MustCompile(`[^A-Za-z0-9_]`)

// funcName is a shell function name for the program and subcommand.
func funcName(prog, sub string) string {
	n := "_" + nonIdent.ReplaceAllString(prog, "_")
	if sub != "" {
		n += "_" + nonIdent.ReplaceAllString(sub, "_")
	}
	return n
}

func words(opts []complOption, kind string) string {
	var ws []string
	for _, o := range opts {
		if kind == "" || o.kind == kind {
			ws = append(ws, o.word)
		}
	}
	return strings.Join(ws, " ")
}

func bashCompletion(prog string, cmds []complCommand) string {
	var b strings.Builder
	fn := funcName(prog, "")
	fmt.Fprintf(&b, `# bash completion for %[1]s, generated by "%[1]s --completion bash".
# Load it in the running shell with:  source <(%[1]s --completion bash)
# or install it:  %[1]s --completion bash > ~/.local/share/bash-completion/completions/%[1]s

%[2]s() {
    local cur="${COMP_WORDS[COMP_CWORD]}" prev="" sub=""
    (( COMP_CWORD > 0 )) && prev="${COMP_WORDS[COMP_CWORD-1]}"
    (( COMP_CWORD > 1 )) && sub="${COMP_WORDS[1]}"
    local opts="" bools="" dirs="" files="" values="" args="" dirarg=0
    case "$sub" in
`, prog, fn)
	for i, c := range cmds {
		if i == 0 {
			continue
		}
		fmt.Fprintf(&b, "    %s)\n", c.name)
		bashVars(&b, c, "")
		b.WriteString("        ;;\n")
	}
	b.WriteString("    *)\n")
	firstOnly := ""
	if len(cmds[0].words) > 0 {
		firstOnly = "(( COMP_CWORD == 1 )) && "
	}
	bashVars(&b, cmds[0], firstOnly)
	b.WriteString(`        ;;
    esac
    if [[ " $bools " == *" $prev "* && "$cur" != -* ]]; then
        COMPREPLY=($(compgen -W "true false" -- "$cur"))
        return 0
    fi
    if [[ " $dirs " == *" $prev "* ]]; then
        compopt -o filenames 2>/dev/null
        COMPREPLY=($(compgen -d -- "$cur"))
        return 0
    fi
    if [[ " $files " == *" $prev "* ]]; then
        compopt -o filenames 2>/dev/null
        COMPREPLY=($(compgen -f -- "$cur"))
        return 0
    fi
    if [[ " $values " == *" $prev "* ]]; then
        COMPREPLY=()
        return 0
    fi
    if [[ "$cur" == -* ]]; then
        COMPREPLY=($(compgen -W "$opts" -- "$cur"))
        return 0
    fi
    COMPREPLY=($(compgen -W "$args" -- "$cur"))
    if (( dirarg )); then
        compopt -o filenames 2>/dev/null
        COMPREPLY+=($(compgen -d -- "$cur"))
    fi
    return 0
}
`)
	fmt.Fprintf(&b, "complete -F %s %s\n", fn, prog)
	return b.String()
}

func bashVars(b *strings.Builder, c complCommand, argsGuard string) {
	fmt.Fprintf(b, "        opts=%q\n", words(c.options, ""))
	fmt.Fprintf(b, "        bools=%q\n", words(c.options, "bool"))
	fmt.Fprintf(b, "        dirs=%q\n", words(c.options, "dir"))
	fmt.Fprintf(b, "        files=%q\n", words(c.options, "file"))
	fmt.Fprintf(b, "        values=%q\n", words(c.options, "value"))
	if len(c.words) > 0 {
		fmt.Fprintf(b, "        %sargs=%q\n", argsGuard, strings.Join(c.words, " "))
	}
	if c.dirArg {
		b.WriteString("        dirarg=1\n")
	}
}

// zshQuote puts s in single quotes for zsh.
func zshQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// zshDesc makes s safe inside an _arguments [description].
func zshDesc(s string) string {
	r := strings.NewReplacer(`\`, `\\`, "[", `\[`, "]", `\]`)
	return r.Replace(s)
}

func zshCompletion(prog string, cmds []complCommand) string {
	var b strings.Builder
	fmt.Fprintf(&b, `#compdef %[1]s
# zsh completion for %[1]s, generated by "%[1]s --completion zsh".
# Install it as _%[1]s in a directory of $fpath, or load it with:  source <(%[1]s --completion zsh)

`, prog)
	for i := len(cmds) - 1; i >= 0; i-- {
		c := cmds[i]
		fmt.Fprintf(&b, "%s() {\n", funcName(prog, c.name))
		if i == 0 && len(cmds) > 1 {
			b.WriteString("  if (( CURRENT > 2 )); then\n    case $words[2] in\n")
			for _, sc := range cmds[1:] {
				fmt.Fprintf(&b, "      %s) %s; return ;;\n", sc.name, funcName(prog, sc.name))
			}
			b.WriteString("    esac\n  fi\n")
		}
		if i > 0 {
			b.WriteString("  shift words\n  (( CURRENT-- ))\n")
		}
		b.WriteString("  _arguments -S :")
		for _, o := range c.options {
			spec := ""
			if o.many {
				spec = "*"
			}
			if o.kind == "novalue" {
				spec = "(- *)" // prints something and exits: nothing else goes with it
			}
			spec += o.word + "[" + zshDesc(o.desc) + "]"
			switch o.kind {
			case "bool":
				spec += ":boolean:(true false)"
			case "dir":
				spec += ":directory:_files -/"
			case "file":
				spec += ":file:_files"
			case "value":
				spec += ":value: "
			}
			b.WriteString(" \\\n    " + zshQuote(spec))
		}
		var alts []string
		if len(c.words) > 0 {
			alts = append(alts, `"words:command:(`+strings.Join(c.words, " ")+`)"`)
		}
		if c.dirArg {
			alts = append(alts, `"directories:directory:_files -/"`)
		}
		if len(alts) > 0 {
			b.WriteString(" \\\n    " + zshQuote("1: :{_alternative "+strings.Join(alts, " ")+"}"))
		}
		b.WriteString("\n}\n\n")
	}
	fn := funcName(prog, "")
	fmt.Fprintf(&b, `if [[ $zsh_eval_context[-1] == loadautofunc ]]; then
  %[1]s "$@"
else
  compdef %[1]s %[2]s
fi
`, fn, prog)
	return b.String()
}

// fishQuote puts s in single quotes for fish.
func fishQuote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, "'", `\'`).Replace(s) + "'"
}

func fishCompletion(prog string, cmds []complCommand) string {
	var b strings.Builder
	fmt.Fprintf(&b, `# fish completion for %[1]s, generated by "%[1]s --completion fish".
# Install it as ~/.config/fish/completions/%[1]s.fish, or load it with:  %[1]s --completion fish | source

complete -c %[1]s -f
`, prog)
	var subs []string
	for _, c := range cmds[1:] {
		subs = append(subs, c.name)
	}
	for i, c := range cmds {
		cond := ""
		switch {
		case i > 0:
			cond = "__fish_seen_subcommand_from " + c.name
		case len(subs) > 0:
			cond = "not __fish_seen_subcommand_from " + strings.Join(subs, " ")
		}
		pre := "complete -c " + prog
		if cond != "" {
			pre += " -n " + fishQuote(cond)
		}
		for j, wd := range c.words {
			wcond := pre
			if i == 0 {
				wcond = "complete -c " + prog + " -n '__fish_use_subcommand'"
			}
			line := wcond + " -a " + fishQuote(wd)
			if c.wordDescs[j] != "" {
				line += " -d " + fishQuote(c.wordDescs[j])
			}
			b.WriteString(line + "\n")
		}
		if c.dirArg {
			b.WriteString(pre + " -a '(__fish_complete_directories)'\n")
		}
		for _, o := range c.options {
			var line string
			if strings.HasPrefix(o.word, "--") {
				line = pre + " -l " + fishQuote(o.word[2:])
			} else {
				line = pre + " -s " + fishQuote(o.word[1:])
			}
			switch o.kind {
			case "bool":
				line += " -x -a 'true false'"
			case "dir":
				line += " -x -a '(__fish_complete_directories)'"
			case "file":
				line += " -r -F"
			case "value":
				line += " -x"
			}
			b.WriteString(line + " -d " + fishQuote(o.desc) + "\n")
		}
	}
	return b.String()
}
