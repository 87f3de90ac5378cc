package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/pflag"

	"github.com/arangobackup/godump/client"
	"github.com/arangobackup/godump/cliflag"
	"github.com/arangobackup/godump/clilog"
	"github.com/arangobackup/godump/internal/cmdline"
	"github.com/arangobackup/godump/seed"
)

const seedUsageText = `Usage: godump seed [options] [output-directory]`

const seedExitCodesHelp = `Exit codes:
  0  the export is complete (godump-manifest.json carries the completion marker)
  1  the export failed
  2  bad options, configuration file, or names the database does not have
     (unknown collection or graph, bad fraction, strict maskings not satisfied)
  130 interrupted by SIGINT or SIGTERM

Examples:
  godump seed --server.database shop --output-directory seed \
    --sample users=100 --sample orders=5% --keys products=a,b --filter users:country=DE \
    --follow knows:out:2 --graph social:any:2 --max-fanout 50 \
    --reference orders.customerId=customers --reference orders.items \
    --maskings maskings.json --seed 42 --strict-maskings true
  godump seed --config-file seed.json --seed 43

The configuration file (JSON) and every option are described in seed/SPEC.md.`

// runSeed runs `godump seed`: a small, masked, self-consistent export (package seed).
func runSeed(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("godump seed", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.SortFlags = true
	copts := client.DefaultOptions()
	client.AddFlags(fs, &copts)
	def := seed.DefaultOptions()
	outDir := fs.String("output-directory", "seed", "output directory (or give it as the only argument)")
	overwrite := cliflag.Bool(fs, "overwrite", false, "write into an existing, non-empty output directory (its dump files are replaced)")
	configFile := fs.String("config-file", "", "JSON configuration file (seed/SPEC.md); the options given on the command line override it, list options add to it")
	samples := fs.StringArray("sample", nil, "start with a deterministic sample of a collection: users=100 (documents), orders=5% or orders=0.05 (a fraction) (repeatable)")
	keys := fs.StringArray("keys", nil, "start with these documents of a collection: products=a,b,c (repeatable)")
	filters := fs.StringArray("filter", nil, "only documents with this attribute value, for a --sample or alone: users:country=DE, users:address.city=Köln, users:age=42 (the value is JSON if it parses as JSON, else a string; repeatable, all must hold)")
	follows := fs.StringArray("follow", nil, "follow an edge collection from the documents taken: knows[:out|in|any[:depth]] (default any, depth 1; repeatable)")
	graphs := fs.StringArray("graph", nil, "follow the edge collections of a named graph: social[:out|in|any[:depth]] (repeatable)")
	maxFanout := fs.Int("max-fanout", 0, "most edges followed per document, per edge collection and depth (0: no cap); those of the smallest keyed hash are kept")
	refs := fs.StringArray("reference", nil, "an attribute holding references, taken along: orders.customerId=customers (keys of customers) or orders.items (_id-style values, coll/key) (repeatable)")
	others := fs.String("others", def.Others, "collections named nowhere in the configuration: none (left out) or whole (taken whole)")
	maskings := fs.String("maskings", "", "file with data masking definitions (arangodump's format; a rule on \"_key\" replaces the collection's keys everywhere they appear)")
	seedText := fs.String("seed", "", "seed of the sampling and the maskings: the same data and seed give the same export, byte for byte")
	strict := cliflag.Bool(fs, "strict-maskings", false, "fail when a collection of the export has no entry of its own in the maskings file, or an attribute of a \"masked\" collection no rule")
	unmasked := fs.StringArray("unmasked", nil, "with --strict-maskings, attributes left as they are on purpose: users=country,address.city (repeatable)")
	reproducible := cliflag.Bool(fs, "reproducible", true, "no times or ticks in the output: two runs over the same data write the same bytes")
	compress := cliflag.Bool(fs, "compress-output", false, "gzip the data files (deterministically; default false, so that the export reads well as a diff)")
	createdAt := fs.String("created-at", "", "createdAt of dump.json (default: empty with --reproducible true, else now)")
	docsPerBatch := fs.Int("docs-per-batch", def.BatchSize, "documents read per batch document read request")
	threads := fs.Int("threads", def.Parallelism, "requests in flight")
	asJSON := cliflag.Bool(fs, "json", false, "print the report as one JSON object on stdout (also when the export fails)")
	showVersion := cliflag.Bool(fs, "version", false, "print the version and exit")
	help := fs.BoolP("help", "h", false, "show this help")

	prog := cliflag.Program{Name: "godump seed", Usage: seedUsageText, Version: version, PositionalDir: true, Footer: seedExitCodesHelp,
		Summary: "Exports seed data: a small, masked, self-consistent and reproducible slice of a database (sampled start documents, closed over edges and declared references), as a dump directory that gorestore and arangorestore restore."}
	setup, code, done := cmdline.Parse(fs, args, cmdline.Spec{Program: prog, Stdout: stdout, Stderr: stderr})
	if done {
		return code
	}
	defer setup.Close()
	msgs := setup.Messages
	copts.Logger = setup.Logger.Topic(clilog.TopicRequests)
	if *help {
		return exitOK
	}
	if *showVersion {
		fmt.Fprint(stdout, cliflag.VersionText("godump", version))
		return exitOK
	}
	usage := func(err error) int {
		msgs.Error(err.Error())
		fmt.Fprintln(stderr, "Run 'godump seed --help' for the options.")
		return exitUsage
	}
	o := seed.DefaultOptions()
	if *configFile != "" {
		if err := o.LoadConfigFile(*configFile); err != nil {
			return usage(err)
		}
	}
	var dir string
	if err := cliflag.Positional("godump seed", "output directory", "export into", "output-directory", nil, fs.Args(), fs.Changed("output-directory"), &dir); err != nil {
		return usage(err)
	}
	switch {
	case dir != "":
		o.OutputDirectory = dir
	case fs.Changed("output-directory") || o.OutputDirectory == "":
		o.OutputDirectory = *outDir
	}
	if fs.Changed("server.database") || o.Database == "" {
		o.Database = copts.Database
	}
	copts.Database = o.Database
	if fs.Changed("overwrite") {
		o.Overwrite = *overwrite
	}
	for _, add := range []struct {
		vals []string
		fn   func(string) error
	}{{*samples, o.AddSample}, {*keys, o.AddKeys}, {*filters, o.AddFilter}} {
		for _, v := range add.vals {
			if err := add.fn(v); err != nil {
				return usage(err)
			}
		}
	}
	for _, v := range *follows {
		f, err := seed.ParseFollow(v)
		if err != nil {
			return usage(err)
		}
		o.Follow = append(o.Follow, f)
	}
	for _, v := range *graphs {
		g, err := seed.ParseGraph(v)
		if err != nil {
			return usage(err)
		}
		o.Graphs = append(o.Graphs, g)
	}
	for _, v := range *refs {
		r, err := seed.ParseReference(v)
		if err != nil {
			return usage(err)
		}
		o.References = append(o.References, r)
	}
	for _, v := range *unmasked {
		coll, attrs, ok := strings.Cut(v, "=")
		if !ok || coll == "" || attrs == "" {
			return usage(fmt.Errorf("--unmasked %q: want collection=attribute,attribute", v))
		}
		if o.Unmasked == nil {
			o.Unmasked = map[string][]string{}
		}
		o.Unmasked[coll] = append(o.Unmasked[coll], strings.Split(attrs, ",")...)
	}
	if fs.Changed("max-fanout") {
		o.MaxFanout = *maxFanout
	}
	if fs.Changed("others") {
		o.Others = *others
	}
	if fs.Changed("maskings") {
		o.Maskings = *maskings
	}
	if fs.Changed("seed") {
		o.Seed = *seedText
	}
	if fs.Changed("strict-maskings") {
		o.StrictMaskings = *strict
	}
	if fs.Changed("reproducible") {
		o.Reproducible = *reproducible
	}
	if fs.Changed("compress-output") {
		o.CompressOutput = *compress
	}
	if fs.Changed("created-at") {
		o.CreatedAt = *createdAt
	}
	o.BatchSize, o.Parallelism = *docsPerBatch, *threads
	o.ToolVersion = cliflag.ToolVersion(version)
	if *docsPerBatch < 1 || *threads < 1 {
		return usage(fmt.Errorf("--docs-per-batch and --threads must be at least 1"))
	}
	if err := o.Validate(); err != nil {
		return usage(err)
	}

	prompt := cliflag.TerminalPrompt()
	if err := cliflag.AskPassword(fs, cliflag.Credentials{Authentication: copts.Authentication, JWTToken: copts.JWTToken,
		Username: copts.Username, Password: &copts.Password, PasswordEnv: client.PasswordEnv,
		Token: &copts.JWTToken, AskJWTSecret: copts.AskJWTSecret, JWTSecret: &copts.JWTSecret}, prompt); err != nil {
		return seedFinish(ctx, stdout, msgs, *asJSON, nil, err)
	}
	copts.OnRetry = client.RetryReporter(msgs, "godump seed", copts.MaxRetries)
	conn, err := client.Connect(ctx, copts)
	if err != nil {
		return seedFinish(ctx, stdout, msgs, *asJSON, nil, err)
	}
	rep, err := seed.Run(ctx, conn, o)
	return seedFinish(ctx, stdout, msgs, *asJSON, rep, err)
}

// seedFinish prints the report (text or JSON) on stdout, the warnings and the error on
// stderr, and returns the exit code.
func seedFinish(ctx context.Context, stdout io.Writer, msgs *cmdline.Messages, asJSON bool, rep *seed.Report, err error) int {
	code := exitOK
	if err != nil {
		switch {
		case ctx.Err() != nil:
			msgs.Error("interrupted; the export is incomplete")
			code = exitInterrupted
		case errors.Is(err, seed.ErrConfig), errors.Is(err, client.ErrBadOption):
			msgs.Error(err.Error())
			code = exitUsage
		default:
			msgs.Error(err.Error())
			code = exitError
		}
	}
	if rep != nil {
		for _, w := range rep.Warnings {
			msgs.Warn(w)
		}
	}
	if asJSON {
		j := struct {
			Tool     string `json:"tool"`
			OK       bool   `json:"ok"`
			ExitCode int    `json:"exitCode"`
			Error    string `json:"error,omitempty"`
			*seed.Report
		}{Tool: "godump seed", OK: err == nil, ExitCode: code, Report: rep}
		if err != nil {
			j.Error = client.RedactText(err.Error())
		}
		if jerr := cmdline.WriteJSON(stdout, j); jerr != nil && code == exitOK {
			msgs.Error("write the report: " + jerr.Error())
			code = exitError
		}
		return code
	}
	if err != nil || rep == nil {
		return code
	}
	fmt.Fprintf(stdout, "Seed export of database %s into %s (seed %q): %d document(s) in %d collection(s), %d request(s), %.2f s.\n",
		rep.Database, rep.OutputDirectory, rep.Seed, rep.Documents, len(rep.Collections), rep.Requests, rep.Seconds)
	for _, c := range rep.Collections {
		var notes []string
		if c.Masked {
			notes = append(notes, "masked")
		}
		if c.MaskKeys {
			notes = append(notes, "keys masked")
		}
		note := ""
		if len(notes) > 0 {
			note = ", " + strings.Join(notes, ", ")
		}
		fmt.Fprintf(stdout, "  %s (%s%s): %d document(s)\n", c.Name, c.Type, note, c.Documents)
		for _, r := range c.Reasons {
			fmt.Fprintf(stdout, "    %8d  %s\n", r.Documents, r.Why)
		}
	}
	return code
}
