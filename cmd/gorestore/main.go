// Command gorestore restores a dump made by arangodump or godump into ArangoDB: a drop-in
// for arangorestore (same options and defaults), faster and resumable. `gorestore hotbackup`
// and `gorestore physical` run the hot and physical backup subcommands.
package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/arangobackup/godump/client"
	"github.com/arangobackup/godump/cliflag"
	"github.com/arangobackup/godump/clilog"
	"github.com/arangobackup/godump/format"
	"github.com/arangobackup/godump/internal/cmdline"
	"github.com/arangobackup/godump/internal/s3dump"
	"github.com/arangobackup/godump/progress"
	"github.com/arangobackup/godump/restore"
	"github.com/spf13/pflag"
)

// Exit codes, as godump's plus one for damaged input.
const (
	exitOK          = 0   // everything restored
	exitFailed      = 1   // the restore failed (server error); continue.json tells what is done
	exitUsage       = 2   // bad options or arguments
	exitBadInput    = 3   // the dump is damaged or hostile (the error names file and line)
	exitInterrupted = 130 // stopped by SIGINT/SIGTERM; resume with --continue
)

const exitCodesHelp = `Exit codes:
  0  everything was restored
  1  the restore failed (continue.json in the dump directory records what is done)
  2  bad options or arguments
  3  the dump is damaged (corrupt gzip, invalid line, missing file): the error names file and line
  130 interrupted by SIGINT/SIGTERM (resume with --continue; a second signal exits at once)`

const usageText = `Usage: gorestore [options] [input-directory]
       gorestore hotbackup <command> [options]
       gorestore physical <command> [options]
`

// version, when set at build time (-ldflags "-X main.version=..."), replaces the module version
// Go records in the binary (see cliflag.VersionText).
var version string

func main() {
	tuneGC()
	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sigs
		fmt.Fprintln(logs, "gorestore: interrupted, stopping (again to exit at once); resume with --continue")
		cancel()
		<-sigs
		os.Exit(exitInterrupted)
	}()
	// Hidden, for performance work (make bench, issue 16): GORESTORE_CPUPROFILE=file writes a
	// CPU profile of the whole run to file (go tool pprof). Not an option on purpose.
	if p := os.Getenv("GORESTORE_CPUPROFILE"); p != "" {
		if f, err := os.Create(p); err == nil {
			_ = pprof.StartCPUProfile(f) // the file is closed by the exit
		}
	}
	code := run(ctx, os.Args[1:])
	cancel()
	pprof.StopCPUProfile() // no-op without a profile
	os.Exit(code)
}

func run(ctx context.Context, args []string) int {
	if len(args) > 0 {
		switch args[0] {
		case "hotbackup":
			return runHotbackup(ctx, args[1:])
		case "physical":
			return runPhysical(ctx, args[1:])
		}
	}
	fs := pflag.NewFlagSet("gorestore", pflag.ContinueOnError)
	fs.SortFlags = false
	copts := client.DefaultOptions()
	opts := restore.DefaultOptions()
	opts.Threads = max(2, runtime.NumCPU())
	var (
		batchSize                     uint64 = uint64(opts.BatchSize)
		shards, replFactor, writeConc []string
		renames                       []string
		list, showProgress, asJSON    bool
	)
	showProgress = true
	fs.StringVar(&opts.InputDirectory, "input-directory", "dump", "input directory")
	var s3o s3dump.Options
	s3dump.AddFlags(fs, &s3o)
	archive := fs.String("archive", "", "restore from a godump archive (godump --archive) while reading it: a file, or - for stdin (gorestore)")
	client.AddFlags(fs, &copts)
	cliflag.BoolVar(fs, &opts.CreateDatabase, "create-database", false, "create the target database if it does not exist (default false)")
	cliflag.BoolVar(fs, &opts.ForceSameDatabase, "force-same-database", false, "refuse to restore into a database of another name than in dump.json (default false)")
	cliflag.BoolVar(fs, &opts.AllDatabases, "all-databases", false, "restore every database of an --all-databases dump (default false)")
	fs.StringArrayVar(&opts.Collections, "collection", nil, "restore only this collection (repeatable)")
	fs.StringArrayVar(&opts.IgnoreCollections, "ignore-collection", nil, "do not restore this collection (repeatable)")
	fs.StringArrayVar(&opts.Views, "view", nil, "restore only this view (repeatable; with --collection and no --view no views are restored)")
	cliflag.BoolVar(fs, &opts.IncludeSystemCollections, "include-system-collections", false, "restore system collections too (default false)")
	fs.StringArrayVar(&renames, "rename-collection", nil, "restore collection old as new: old=new (repeatable; edges' _from/_to follow)")
	cliflag.BoolVar(fs, &opts.CreateCollection, "create-collection", true, "create collections, indexes and views")
	cliflag.BoolVar(fs, &opts.ImportData, "import-data", true, "load documents")
	cliflag.BoolVar(fs, &opts.Overwrite, "overwrite", true, "replace existing collections and views")
	cliflag.Uint32Var(fs, &opts.Threads, "threads", opts.Threads, "parallel requests: collections and batches of one collection (default: max(2, cores))")
	cliflag.SizeVar(fs, &batchSize, "batch-size", batchSize, "bytes per restore-data request (at least 131072)")
	fs.StringArrayVar(&shards, "number-of-shards", nil, "override numberOfShards: N or coll=N (repeatable; not for system collections)")
	fs.StringArrayVar(&replFactor, "replication-factor", nil, "override replicationFactor: N, satellite, or coll=N (repeatable)")
	fs.StringArrayVar(&writeConc, "write-concern", nil, "override writeConcern: N or coll=N (repeatable)")
	cliflag.BoolVar(fs, &opts.Continue, "continue", false, "resume an interrupted restore from continue.json (default false)")
	cliflag.BoolVar(fs, &opts.Force, "force", false, "go on after errors, reporting them as warnings (default false)")
	cliflag.BoolVar(fs, &opts.IgnoreDistributeShardsLikeErrors, "ignore-distribute-shards-like-errors", false,
		"create collections even if their distributeShardsLike prototype is missing (default false)")
	cliflag.BoolVar(fs, &opts.EnableRevisionTrees, "enable-revision-trees", true, "give collections from pre-3.8 dumps revision trees")
	cliflag.BoolVar(fs, &opts.FastClusterRestore, "fast-cluster-restore", false,
		"cluster: load with replication factor 1 spread over all --server.endpoint Coordinators, then raise it and wait for sync (default false)")
	cliflag.BoolVar(fs, &opts.IndexesAfterData, "indexes-after-data", opts.IndexesAfterData, "build secondary indexes after loading a collection's data (false: before, as arangorestore)")
	cliflag.BoolVar(fs, &list, "list", false, "print what the dump holds and exit, without connecting (default false)")
	cliflag.BoolVar(fs, &opts.DryRun, "dry-run", false, "connect, check and print the plan without writing (default false)")
	cliflag.BoolVar(fs, &showProgress, "progress", true, "show the progress display on stderr (false: only warnings and errors there; the summary is printed either way)")
	cliflag.BoolVar(fs, &asJSON, "json", false, "print the closing summary (or the --list listing, or the --dry-run plan) as one JSON object on stdout, also on failure")
	showVersion := cliflag.Bool(fs, "version", false, "print the version and exit")

	// arangorestore options that have no effect here, accepted so that scripts run unchanged.
	var ignoredBool bool
	var ignoredStr string
	var ignoredNum uint64
	var cleanupDuplicates bool
	for _, name := range []string{"recycle-ids", "envelope", "compress-transfer"} {
		cliflag.BoolVar(fs, &ignoredBool, name, false, "accepted for arangorestore compatibility; no effect")
		_ = fs.MarkHidden(name)
	}
	// with arangorestore's defaults and types, so that --dump-options and --help say the same
	for _, o := range []struct {
		name string
		def  uint64
	}{{"descriptors-minimum", 8192}, {"max-unused-buffers-capacity", 512 << 20}, {"compress-request-threshold", 0},
		{"default-number-of-shards", 1}, {"default-replication-factor", 1}} {
		cliflag.SizeVar(fs, &ignoredNum, o.name, o.def, "accepted for arangorestore compatibility; no effect")
		_ = fs.MarkHidden(o.name)
	}
	cliflag.Uint32Var(fs, new(int), "initial-connect-retries", 3, "accepted for arangorestore compatibility; no effect (--server.max-retries governs retries)")
	_ = fs.MarkHidden("initial-connect-retries")
	noEffect := []string{"recycle-ids", "envelope", "compress-transfer", "descriptors-minimum", "max-unused-buffers-capacity",
		"compress-request-threshold", "default-number-of-shards", "default-replication-factor", "initial-connect-retries", "temp.path"}
	fs.StringVar(&ignoredStr, "temp.path", "", "accepted for arangorestore compatibility; no effect")
	_ = fs.MarkHidden("temp.path")
	keyfile := fs.String("encryption.keyfile", "", "not supported: encrypted dumps (the Enterprise Edition's encryption format is closed source)")
	keygen := fs.String("encryption.key-generator", "", "not supported: encrypted dumps (the Enterprise Edition's encryption format is closed source)")
	cliflag.BoolVar(fs, &cleanupDuplicates, "cleanup-duplicate-attributes", false, "not supported (documents are sent as they are)")
	_ = fs.MarkHidden("cleanup-duplicate-attributes")

	setup, code, done := cmdline.Parse(fs, args, cmdline.Spec{Program: program(), ConfigNames: []string{"gorestore", "arangorestore"}, Stdout: os.Stdout, Stderr: os.Stderr})
	if done {
		return code
	}
	defer setup.Close()
	stderr = setup.Messages
	logs.SetFallback(setup.Messages)
	copts.Logger = setup.Logger.Topic(clilog.TopicRequests)
	for _, name := range noEffect {
		if fs.Changed(name) {
			fmt.Fprintf(stderr, "gorestore: --%s has no effect in gorestore (accepted for arangorestore compatibility)\n", name)
		}
	}
	if *showVersion {
		fmt.Fprint(os.Stdout, cliflag.VersionText("gorestore", version))
		return exitOK
	}
	if err := cliflag.Positional("gorestore", "input directory", "restore from", "input-directory", commandWords, fs.Args(), fs.Changed("input-directory"), &opts.InputDirectory); err != nil {
		fmt.Fprintf(stderr, "gorestore: %v\n%sRun 'gorestore --help' for the options.\n", err, usageText)
		return exitUsage
	}
	var err error
	if opts.NumberOfShards, err = restore.ParseOverrides("number-of-shards", shards, false); err == nil {
		if opts.ReplicationFactor, err = restore.ParseOverrides("replication-factor", replFactor, true); err == nil {
			if opts.WriteConcern, err = restore.ParseOverrides("write-concern", writeConc, false); err == nil {
				opts.Renames, err = restore.ParseRenames(renames)
			}
		}
	}
	if err == nil && (*keyfile != "" || *keygen != "") {
		err = errors.New("encrypted dumps (--encryption.*) are not supported: the Enterprise Edition's encryption format is closed source; restore it with arangorestore")
	}
	if err == nil && cleanupDuplicates {
		err = errors.New("--cleanup-duplicate-attributes is not supported: gorestore sends documents as they are in the dump")
	}
	if err == nil && opts.AllDatabases && fs.Changed("server.database") {
		err = errors.New("--all-databases cannot be combined with --server.database")
	}
	opts.BatchSize = int64(min(batchSize, 1<<30))
	if err == nil {
		err = opts.Validate()
	}
	if err != nil {
		fmt.Fprintln(stderr, "gorestore:", err)
		return exitUsage
	}
	opts.Database = copts.Database
	if *archive != "" {
		if fs.Changed("input-directory") || len(fs.Args()) > 0 {
			fmt.Fprintln(stderr, "gorestore: use either --archive or --input-directory, not both")
			return exitUsage
		}
		if opts.Continue {
			fmt.Fprintln(stderr, "gorestore: --continue cannot be used with --archive: a stream is read once (extract it with tar -x and restore the directory to resume)")
			return exitUsage
		}
		in, name, err := openArchive(ctx, *archive, &s3o)
		if err != nil {
			fmt.Fprintln(stderr, "gorestore:", err)
			return exitFailed
		}
		defer in.Close()
		opts.Archive, opts.ArchiveName = in, name
	}

	if s3dump.IsURL(opts.InputDirectory) && opts.Archive == nil {
		if opts.Continue {
			fmt.Fprintln(stderr, "gorestore: --continue cannot be used with an s3:// input (its progress file would live beside the dump): restore it again, the result is the same")
			return exitUsage
		}
		st, err := s3o.OpenStore(ctx, opts.InputDirectory)
		if err != nil {
			fmt.Fprintf(stderr, "gorestore: input %s: %v\n", opts.InputDirectory, err)
			return exitFailed
		}
		opts.InputStore = st
	}

	// --list shows the target database only when --server.database names one; --dry-run always
	out := output{json: asJSON, dir: opts.InputDirectory, target: !list || fs.Changed("server.database")}
	if opts.Archive != nil {
		out.dir = opts.ArchiveName
	}
	if opts.Archive != nil && (list || opts.DryRun) {
		// the listing reads the whole archive, checking every entry; nothing is written
		out.mode = "list"
		if opts.DryRun {
			out.mode = "dry-run"
		}
		plan, err := restore.ListArchive(opts)
		if err != nil {
			return out.finish(nil, nil, err)
		}
		printWarnings(plan.Warnings)
		if opts.DryRun {
			return out.finish(plan, &restore.Summary{Databases: len(plan.Databases)}, nil)
		}
		return out.finish(plan, nil, nil)
	}
	if list {
		out.mode = "list"
		plan, err := restore.BuildPlan(opts)
		if err != nil {
			return out.finish(nil, nil, err)
		}
		defer plan.Close()
		printWarnings(plan.Warnings)
		return out.finish(plan, nil, nil)
	}
	if opts.DryRun {
		out.mode = "dry-run"
	}

	start := time.Now()
	var plan *restore.Plan
	if opts.Archive == nil {
		if plan, err = restore.BuildPlan(opts); err != nil {
			return out.finish(nil, nil, err)
		}
		defer func() { plan.Close() }()
	}
	if err := cliflag.AskPassword(fs, cliflag.Credentials{Authentication: copts.Authentication, JWTToken: copts.JWTToken,
		Username: copts.Username, Password: &copts.Password, PasswordEnv: client.PasswordEnv,
		Token: &copts.JWTToken, AskJWTSecret: copts.AskJWTSecret, JWTSecret: &copts.JWTSecret}, cliflag.TerminalPrompt()); err != nil {
		return out.finish(nil, nil, err)
	}
	copts.ResolvePassword()
	opts.Username, opts.Password = copts.Username, copts.Password
	// Streams: progress, retries and warnings on stderr; the closing summary on stdout.
	copts.OnRetry = client.RetryReporter(logs, "gorestore", copts.MaxRetries)
	conn, err := connect(ctx, copts, opts)
	if err != nil {
		return out.finish(nil, nil, err)
	}
	switch conn.Role {
	case "PRIMARY", "DBSERVER":
		fmt.Fprintln(stderr, "gorestore: warning: operations in a cluster should be carried out via a Coordinator. This is an unsupported operation!")
	}
	if opts.FastClusterRestore && !conn.IsCluster() {
		fmt.Fprintln(stderr, "gorestore: warning: --fast-cluster-restore needs a cluster (Coordinators); restoring normally")
		opts.FastClusterRestore = false
		if opts.Archive == nil {
			if plan, err = restore.BuildPlan(opts); err != nil {
				return out.finish(nil, nil, err)
			}
		}
	}

	rep := newReporter(showProgress && !opts.DryRun)
	if showProgress && !opts.DryRun {
		logs.SetReporter(rep)
	}
	opts.Log = func(msg string) { rep.Log("warning: " + msg) }
	var sum *restore.Summary
	if opts.Archive != nil {
		plan, sum, err = restore.RunArchive(ctx, conn, opts, rep)
	} else {
		sum, err = restore.Execute(ctx, conn, plan, opts, rep, start)
	}
	rep.Close()
	logs.SetReporter(nil)
	return out.finish(plan, sum, err)
}

// output prints what a run ends with: on stdout the summary (text, or JSON with --json), the
// listing (--list) or the plan (--dry-run); on stderr the error. It returns the exit code.
type output struct {
	json   bool
	target bool   // the listing names the database each is restored into
	mode   string // "restore", "list" or "dry-run"
	dir    string
}

func (o output) finish(plan *restore.Plan, sum *restore.Summary, err error) int {
	var listing []restore.DatabaseInfo
	// --list, and --dry-run once it ran (also when a check failed: the plan shows what was
	// checked). Listing counts documents, which reads the data files: its errors are the run's.
	if plan != nil && (o.mode == "list" || o.mode == "dry-run" && sum != nil) {
		var lerr error
		if o.json {
			listing, lerr = plan.List(true)
		} else {
			if o.mode == "dry-run" {
				fmt.Println("dry run: nothing was written. The restore would do this:")
			}
			lerr = plan.WriteList(os.Stdout, true, o.target)
		}
		if err == nil {
			err = lerr
		}
	}
	code := exitOK
	if err != nil {
		code = fail(err)
	}
	if o.json {
		if jerr := cmdline.WriteJSON(os.Stdout, o.summary(listing, sum, err, code)); jerr != nil && code == exitOK {
			fmt.Fprintln(stderr, "gorestore: write the summary:", jerr)
			code = exitFailed
		}
		return code
	}
	if sum == nil || o.mode != "" {
		return code
	}
	if sum.Interrupted {
		// no success-style summary: say what was done and how to go on (the error is on stderr)
		fmt.Printf("Interrupted after %.2f s: %d data batch(es) of %s sent (%d document(s)); continue.json keeps the progress, run again with --continue true to resume.\n",
			sum.Elapsed.Seconds(), sum.Batches, progress.Bytes(sum.SentBytes), sum.Docs)
		return code
	}
	if err != nil {
		return code
	}
	fmt.Printf("Processed %d collection(s) from %d database(s) in %.2f s total time. Read %s from datafiles, sent %d data batch(es) of %s total size.\n",
		sum.Collections, sum.Databases, sum.Elapsed.Seconds(), progress.Bytes(sum.ReadBytes), sum.Batches, progress.Bytes(sum.SentBytes))
	if sum.Skipped > 0 {
		fmt.Printf("Resumed: %d batch(es) acknowledged in an earlier run were not sent again.\n", sum.Skipped)
	}
	if len(sum.MissingData) > 0 {
		fmt.Printf("%d collection(s) had no data file in the dump and were restored empty: %s.\n", len(sum.MissingData), strings.Join(sum.MissingData, ", "))
	}
	if len(sum.Incomplete) > 0 {
		fmt.Printf("Incomplete dump restored with --force; missing or partial: %s.\n", strings.Join(sum.Incomplete, ", "))
	}
	return code
}

// summaryJSON is the --json output: the figures of the text summary, machine-readable, the
// listing for --list and --dry-run, and on failure the error and the exit code (the text
// error is on stderr as well).
type summaryJSON struct {
	Tool           string                 `json:"tool"`
	Mode           string                 `json:"mode"`
	OK             bool                   `json:"ok"`
	ExitCode       int                    `json:"exitCode"`
	Error          string                 `json:"error,omitempty"`
	Interrupted    bool                   `json:"interrupted,omitempty"`
	InputDirectory string                 `json:"inputDirectory"`
	Databases      []restore.DatabaseInfo `json:"databases,omitempty"`
	Restored       *restoredJSON          `json:"restored,omitempty"`
	Warnings       []string               `json:"warnings"`
}

type restoredJSON struct {
	Databases      int      `json:"databases"`
	Collections    int      `json:"collections"`
	Documents      int64    `json:"documents"`
	Batches        int64    `json:"batches"`
	ReadBytes      int64    `json:"readBytes"`
	SentBytes      int64    `json:"sentBytes"`
	SkippedBatches int64    `json:"skippedBatches"`
	MissingData    []string `json:"missingData"`
	Incomplete     []string `json:"incomplete"`
	Seconds        float64  `json:"seconds"`
}

func (o output) summary(listing []restore.DatabaseInfo, s *restore.Summary, err error, code int) summaryJSON {
	mode := o.mode
	if mode == "" {
		mode = "restore"
	}
	j := summaryJSON{Tool: "gorestore", Mode: mode, OK: err == nil, ExitCode: code, InputDirectory: o.dir,
		Databases: listing, Warnings: []string{}}
	if err != nil {
		j.Error = client.RedactText(err.Error())
		j.Interrupted = code == exitInterrupted
	}
	if s != nil {
		if s.Warnings != nil {
			j.Warnings = s.Warnings
		}
		if mode == "restore" {
			j.Restored = &restoredJSON{Databases: s.Databases, Collections: s.Collections, Documents: s.Docs, Batches: s.Batches,
				ReadBytes: s.ReadBytes, SentBytes: s.SentBytes, SkippedBatches: s.Skipped, Seconds: s.Elapsed.Seconds(),
				MissingData: nonNil(s.MissingData), Incomplete: nonNil(s.Incomplete)}
			j.Interrupted = j.Interrupted || s.Interrupted
		}
	}
	return j
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// commandWords are words a user may type meaning a command rather than an input directory,
// with what they probably meant.
var commandWords = map[string]string{
	"version":   "gorestore --version",
	"help":      "gorestore --help",
	"hotbackup": "gorestore hotbackup <command> [options] (the subcommand comes first)",
	"physical":  "gorestore physical [options] (the subcommand comes first)",
	"list":      "gorestore --list true input-directory",
	"restore":   "gorestore [options] input-directory, or gorestore hotbackup restore",
	"create":    "godump hotbackup create",
	"delete":    "godump hotbackup delete",
	"upload":    "godump hotbackup upload",
	"download":  "godump hotbackup download",
}

// logs is stderr for the lines written while the progress display draws: they go through it
// (SetReporter), so that they do not break the bars.
var logs = progress.NewLogWriter(os.Stderr)

// stderr is where messages go: the terminal's stderr until the options are parsed, then the
// Messages of internal/cmdline (human lines on stderr, or records in the --log.file/--log.output
// outputs). The bars and the password prompt use os.Stderr itself.
var stderr io.Writer = os.Stderr

// connect opens the connection on the target database, falling back to _system when the
// database is to be created (or with --all-databases, where every request names its own).
func connect(ctx context.Context, copts client.Options, opts restore.Options) (*client.Conn, error) {
	if opts.AllDatabases {
		copts.Database = "_system"
	}
	conn, err := client.Connect(ctx, copts)
	if err != nil && opts.CreateDatabase && (client.IsErrorNum(err, 1228) || client.IsStatus(err, 404)) {
		copts.Database = "_system"
		conn, err = client.Connect(ctx, copts)
	}
	if err != nil && !opts.CreateDatabase && client.IsErrorNum(err, 1228) {
		err = fmt.Errorf("%w; to create it, add --create-database true", err)
	}
	return conn, err
}

func printWarnings(ws []string) {
	for _, w := range ws {
		fmt.Fprintln(stderr, "gorestore: warning:", w)
	}
}

// fail prints err and maps it to an exit code.
func fail(err error) int {
	fmt.Fprintln(stderr, "gorestore:", err)
	var fe *format.Error
	switch {
	case errors.Is(err, context.Canceled):
		return exitInterrupted
	case errors.As(err, &fe):
		return exitBadInput
	case errors.Is(err, client.ErrBadOption):
		return exitUsage
	}
	return exitFailed
}

// tuneGC keeps the heap close to the data in flight: a restore allocates a send buffer per
// batch and little else, so the default GOGC=100 would let the heap double the batches in
// flight before collecting. The environment (GOGC, GOMEMLIMIT) wins.
func tuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(50)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(160 << 20) // soft: the GC works harder near it, never fails
	}
}

// newReporter is progress.ForCommand with restore wording for the plain (non-terminal)
// reporter, whose lines are written for dumps ("# Dumping ...", "received").
func newReporter(enabled bool) progress.Reporter {
	var tee io.Writer
	if m, ok := stderr.(*cmdline.Messages); ok && m.Logging() {
		tee = m
	}
	return progress.ForCommand(enabled, os.Stderr, restoreWords{stderr}, "gorestore: ", tee, 5*time.Second)
}

type restoreWords struct{ w io.Writer }

func (r restoreWords) Write(p []byte) (int, error) {
	q := bytes.ReplaceAll(p, []byte("# Dumping "), []byte("# Restoring "))
	q = bytes.ReplaceAll(q, []byte(" received"), []byte(" sent"))
	if _, err := r.w.Write(q); err != nil {
		return 0, err
	}
	return len(p), nil
}

// program describes gorestore for --help, --dump-options, --version-json, completion and the
// man page.
func program() cliflag.Program {
	return cliflag.Program{
		Name:          "gorestore",
		Usage:         strings.TrimRight(usageText, "\n"),
		Summary:       "Restores a dump made by arangodump or godump into ArangoDB (arangorestore's options and defaults; parallel and resumable).",
		Footer:        exitCodesHelp,
		Version:       version,
		PositionalDir: true,
		Subcommands: []cliflag.Subcommand{
			{Name: "hotbackup", Summary: "restore a hot backup through the server's Hot Backup API", Words: []string{"restore", "list"}},
			{Name: "physical", Summary: "verify a physical backup and restore it into data directories"},
		},
	}
}
