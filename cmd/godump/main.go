// Command godump dumps ArangoDB databases, as a drop-in for arangodump: the same options,
// the same dump directory format, but parallel and streaming. `godump hotbackup ...` and
// `godump physical ...` run the other two backup methods.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"github.com/arangobackup/godump/client"
	"github.com/arangobackup/godump/cliflag"
	"github.com/arangobackup/godump/clilog"
	"github.com/arangobackup/godump/dump"
	"github.com/arangobackup/godump/internal/cmdline"
	"github.com/arangobackup/godump/internal/s3dump"
	"github.com/arangobackup/godump/progress"
)

// Exit codes (documented in --help and the README).
const (
	exitOK          = 0   // the dump is complete
	exitError       = 1   // the dump failed; the directory has no completion marker
	exitUsage       = 2   // bad options or arguments
	exitInterrupted = 130 // stopped by SIGINT/SIGTERM; temporary files removed, no completion marker
)

const exitCodesHelp = `Exit codes:
  0  the dump is complete (godump-manifest.json carries the completion marker)
  1  the dump failed; the output directory has no completion marker
  2  bad options or arguments
  130 interrupted by SIGINT or SIGTERM; temporary files removed, no completion marker
     (a second signal exits at once)`

// version, when set at build time (-ldflags "-X main.version=..."), replaces the module version
// Go records in the binary (see cliflag.VersionText).
var version string

const usageText = `Usage: godump [options] [output-directory]
       godump hotbackup <command> [options]
       godump physical <command> [options]
`

func main() {
	// Hidden, for performance work (make bench, issue 16): GODUMP_CPUPROFILE=file writes a CPU
	// profile of the whole run to file (go tool pprof). Not an option on purpose.
	if p := os.Getenv("GODUMP_CPUPROFILE"); p != "" {
		if f, err := os.Create(p); err == nil && pprof.StartCPUProfile(f) == nil {
			code := run(os.Args[1:], os.Stdout, os.Stderr)
			pprof.StopCPUProfile()
			f.Close()
			os.Exit(code)
		}
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	// Lines written while the progress display draws go through it (logs.SetReporter).
	logs := progress.NewLogWriter(stderr)
	ctx, stop := signalContext(logs)
	defer stop()
	if len(args) > 0 {
		switch args[0] {
		case "hotbackup":
			return runHotbackup(ctx, args[1:])
		case "physical":
			return runPhysical(ctx, args[1:])
		case "seed":
			return runSeed(ctx, args[1:], stdout, stderr)
		}
	}
	return runDump(ctx, args, stdout, stderr, logs)
}

// signalContext cancels the returned context on the first SIGINT/SIGTERM and exits with
// exitInterrupted on the second.
func signalContext(logs io.Writer) (context.Context, func()) {
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	go func() {
		select {
		case <-ch:
		case <-ctx.Done():
			return
		}
		fmt.Fprintln(logs, "godump: interrupted, stopping (send the signal again to exit at once)")
		cancel()
		<-ch
		fmt.Fprintln(os.Stderr, "godump: second signal, exiting")
		os.Exit(exitInterrupted)
	}()
	return ctx, func() { signal.Stop(ch); cancel() }
}

func runDump(ctx context.Context, args []string, stdout, stderr io.Writer, logs *progress.LogWriter) int {
	fs := pflag.NewFlagSet("godump", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.SortFlags = true
	copts := client.DefaultOptions()
	client.AddFlags(fs, &copts)
	o := dump.DefaultOptions()
	fs.StringVar(&o.OutputDirectory, "output-directory", o.OutputDirectory, "output directory (or give it as the only argument)")
	cliflag.BoolVar(fs, &o.Overwrite, "overwrite", false, "write into an existing, non-empty output directory")
	cliflag.BoolVar(fs, &o.Continue, "continue", false, "carry on an interrupted dump in the output directory: keep the data files its manifest records as complete (size and SHA-256 checked again) and dump the rest (godump)")
	var s3o s3dump.Options
	s3dump.AddFlags(fs, &s3o)
	archive := fs.String("archive", "", "write the whole dump as one stream to this file, or - for stdout: a tar of the dump directory (split data files) that gorestore --archive restores while reading and tar -x unpacks for arangorestore (godump)")
	snapshot := fs.String("snapshot", "per-server", "per-server: one snapshot per server (arangodump's, one point in time per server); per-collection: one per collection, each file committed when complete, so that --continue keeps more after an interruption (godump; parallel dump API)")
	cliflag.BoolVar(fs, &o.AllDatabases, "all-databases", false, "dump every database the user can access, one subdirectory each")
	fs.StringArrayVar(&o.Collections, "collection", nil, "dump only this collection (repeatable)")
	fs.StringArrayVar(&o.IgnoreCollections, "ignore-collection", nil, "do not dump this collection (repeatable)")
	fs.StringArrayVar(&o.Shards, "shard", nil, "dump only this shard (cluster, repeatable)")
	cliflag.BoolVar(fs, &o.IncludeSystemCollections, "include-system-collections", false, "include system collections (named graphs, analyzers, users)")
	cliflag.BoolVar(fs, &o.DumpData, "dump-data", true, "dump the documents (false: structure only)")
	cliflag.BoolVar(fs, &o.DumpViews, "dump-views", true, "dump the views")
	cliflag.Uint32Var(fs, &o.Threads, "threads", o.Threads, "collections (or shards) dumped at once")
	cliflag.SizeVar(fs, &o.InitialBatchSize, "initial-batch-size", o.InitialBatchSize, "first batch size of the replication API, in bytes")
	cliflag.SizeVar(fs, &o.BatchSize, "batch-size", o.BatchSize, "largest batch asked from the server, in bytes")
	cliflag.SizeVar(fs, &o.DocsPerBatch, "docs-per-batch", o.DocsPerBatch, "largest number of documents per batch")
	cliflag.BoolVar(fs, &o.ParallelDump, "parallel-dump", true, "use the parallel dump API of ArangoDB 3.12 where the server has it")
	cliflag.BoolVar(fs, &o.ParallelDump, "use-experimental-dump", true, "old name of --parallel-dump")
	cliflag.BoolVar(fs, &o.SplitFiles, "split-files", false, "one data file per shard (default: true on a cluster; restores with arangorestore 3.12+)")
	cliflag.BoolVar(fs, &o.CompressOutput, "compress-output", true, "gzip the data files")
	fs.StringVar(&o.Maskings, "maskings", "", "file with data masking definitions (arangodump's format)")
	cliflag.BoolVar(fs, &o.Force, "force", false, "continue with the next database after an error (with --all-databases)")
	cliflag.BoolVar(fs, &o.IgnoreDistributeShardsLikeErrors, "ignore-distribute-shards-like-errors", false, "dump a collection without the collection its shards are distributed like")
	cliflag.SizeVar(fs, &o.DBServerWorkerThreads, "dbserver-worker-threads", o.DBServerWorkerThreads, "server threads per dump context")
	cliflag.SizeVar(fs, &o.DBServerPrefetchBatches, "dbserver-prefetch-batches", o.DBServerPrefetchBatches, "batches the server prepares ahead per dump context")
	cliflag.SizeVar(fs, &o.MaxBatchMemory, "max-batch-memory", 8<<20, "largest batch held in memory per running job, in bytes (godump)")
	progressOn := cliflag.Bool(fs, "progress", true, "show the progress display on stderr (false: only warnings and errors there; the summary is printed either way)")
	asJSON := cliflag.Bool(fs, "json", false, "print the closing summary as one JSON object on stdout (also when the dump fails)")
	// Accepted for compatibility with arangodump's command lines.
	cliflag.Uint64IntVar(fs, &o.NetworkThreads, "local-network-threads", o.NetworkThreads, "requests in flight per job with the parallel dump API (each holds one batch in memory)")
	cliflag.Size(fs, "local-writer-threads", 5, "accepted for compatibility; each job writes its own file")
	cliflag.Size(fs, "descriptors-minimum", 8192, "accepted for compatibility; no effect (Go raises the file descriptor limit itself)")
	compressTransfer := cliflag.Bool(fs, "compress-transfer", false, "accepted for compatibility; transfers are not compressed")
	compressThreshold := cliflag.Size(fs, "compress-request-threshold", 0, "accepted for compatibility; requests are not compressed (godump sends no bodies worth it)")
	dumpVPack := cliflag.Bool(fs, "dump-vpack", false, "not supported: godump writes JSON")
	keyfile := fs.String("encryption.keyfile", "", "not supported: encrypted dumps")
	keygen := fs.String("encryption.key-generator", "", "not supported: encrypted dumps")
	cliflag.Bool(fs, "envelope", false, "obsolete, ignored (3.12 never writes envelopes)")
	cliflag.Size(fs, "tick-start", 0, "obsolete, ignored")
	cliflag.Size(fs, "tick-end", 0, "obsolete, ignored")
	showVersion := cliflag.Bool(fs, "version", false, "print the version and exit")
	help := fs.BoolP("help", "h", false, "show this help")
	for _, hidden := range []string{"use-experimental-dump", "local-writer-threads", "envelope", "tick-start", "tick-end", "dbserver-worker-threads", "dbserver-prefetch-batches", "dump-vpack", "local-network-threads"} {
		_ = fs.MarkHidden(hidden)
	}

	setup, code, done := cmdline.Parse(fs, args, cmdline.Spec{Program: program(), ConfigNames: []string{"godump", "arangodump"}, Stdout: stdout, Stderr: stderr})
	if done {
		return code
	}
	defer setup.Close()
	// From here on stderr is for messages: human lines on the terminal's stderr, or records
	// in the log outputs --log.file/--log.output name. The bars and the password prompt stay
	// on the terminal (termErr).
	msgs := setup.Messages
	termErr := stderr
	stderr = msgs
	logs.SetFallback(msgs)
	copts.Logger = setup.Logger.Topic(clilog.TopicRequests)
	if *help { // a --help after `--`
		return exitOK
	}
	if *showVersion {
		fmt.Fprint(stdout, cliflag.VersionText("godump", version))
		return exitOK
	}
	if err := cliflag.Positional("godump", "output directory", "dump into", "output-directory", commandWords, fs.Args(), fs.Changed("output-directory"), &o.OutputDirectory); err != nil {
		fmt.Fprintf(stderr, "godump: %v\n%sRun 'godump --help' for the options.\n", err, usageText)
		return exitUsage
	}
	if *archive != "" && (fs.Changed("output-directory") || len(fs.Args()) > 0) {
		fmt.Fprintln(stderr, "godump: use either --archive or --output-directory, not both")
		return exitUsage
	}
	for _, name := range []string{"envelope", "tick-start", "tick-end"} {
		if fs.Changed(name) {
			fmt.Fprintf(stderr, "godump: warning: obsolete option --%s has no effect\n", name)
		}
	}
	for _, name := range []string{"local-writer-threads", "descriptors-minimum"} {
		if fs.Changed(name) {
			fmt.Fprintf(stderr, "godump: --%s has no effect in godump (accepted for arangodump compatibility)\n", name)
		}
	}
	if *compressThreshold != 0 {
		fmt.Fprintln(stderr, "godump: --compress-request-threshold has no effect: godump's requests have no bodies worth compressing")
	}
	if *compressTransfer {
		fmt.Fprintln(stderr, "godump: warning: --compress-transfer is not supported; transfers are not compressed")
	}
	if *dumpVPack {
		fmt.Fprintln(stderr, "godump: --dump-vpack is not supported; godump writes JSON lines")
		return exitUsage
	}
	if *keyfile != "" || *keygen != "" {
		fmt.Fprintln(stderr, "godump: encrypted dumps (--encryption.*) are not supported: the Enterprise Edition's encryption format is closed source; use arangodump for them")
		return exitUsage
	}
	if o.AllDatabases && fs.Changed("server.database") {
		fmt.Fprintln(stderr, "godump: --all-databases cannot be combined with --server.database")
		return exitUsage
	}
	switch *snapshot {
	case "per-server":
	case "per-collection":
		o.SnapshotPerCollection = true
	default:
		fmt.Fprintf(stderr, "godump: --snapshot %q: use per-server or per-collection\n", *snapshot)
		return exitUsage
	}
	o.SplitFilesSet = fs.Changed("split-files")
	o.RequestTimeout = copts.RequestTimeout
	if _, err := o.Validate(); err != nil {
		fmt.Fprintf(stderr, "godump: %v\n", err)
		return exitUsage
	}

	if os.Getenv("GOMEMLIMIT") == "" {
		// A soft heap limit sized from the batches in flight (network threads + 1 per job) keeps the
		// garbage of finished batches from doubling the footprint.
		debug.SetMemoryLimit(int64(64<<20 + uint64(o.Threads*(o.NetworkThreads+1))*o.MaxBatchMemory))
	}
	prompt := cliflag.TerminalPrompt()
	prompt.Out = termErr
	if err := cliflag.AskPassword(fs, cliflag.Credentials{Authentication: copts.Authentication, JWTToken: copts.JWTToken,
		Username: copts.Username, Password: &copts.Password, PasswordEnv: client.PasswordEnv,
		Token: &copts.JWTToken, AskJWTSecret: copts.AskJWTSecret, JWTSecret: &copts.JWTSecret}, prompt); err != nil {
		return finish(ctx, stdout, stderr, *asJSON, o.OutputDirectory, nil, err)
	}
	// Streams: progress, retries and warnings on stderr; the closing summary on stdout.
	copts.OnRetry = client.RetryReporter(logs, "godump", copts.MaxRetries)
	conn, err := client.Connect(ctx, copts)
	if err != nil {
		return finish(ctx, stdout, stderr, *asJSON, o.OutputDirectory, nil, err)
	}
	var tee io.Writer
	if msgs.Logging() {
		tee = msgs
	}
	termFile, _ := termErr.(*os.File)
	rep := progress.ForCommand(*progressOn, termFile, msgs, "godump: ", tee, 5*time.Second)
	if *progressOn {
		logs.SetReporter(rep)
		rep.Log(fmt.Sprintf("# Connected to ArangoDB %s (%s), dumping into %s", conn.Version, strings.ToLower(conn.Role), o.OutputDirectory))
	}
	dump.Version = cliflag.ToolVersion(version)
	var store *s3dump.Store
	if s3dump.IsURL(o.OutputDirectory) {
		if store, err = s3o.OpenStore(ctx, o.OutputDirectory); err != nil {
			rep.Close()
			logs.SetReporter(nil)
			fmt.Fprintf(stderr, "godump: output %s: %v\n", o.OutputDirectory, err)
			return exitError
		}
		o.OutputStore = store
	}
	var out *archiveFile
	if *archive != "" {
		if out, err = openArchive(ctx, *archive, o.Overwrite, stdout, &s3o); err != nil {
			rep.Close()
			logs.SetReporter(nil)
			fmt.Fprintf(stderr, "godump: %v\n", err)
			return exitError
		}
		o.Archive, o.ArchiveName = out, out.name
	}
	sum, err := dump.Run(ctx, conn, o, rep)
	if out != nil {
		err = out.finish(err)
	}
	rep.Close()
	logs.SetReporter(nil)
	dir := o.OutputDirectory
	if out != nil {
		dir = ""
		if out.final == "" && out.upload == nil {
			stdout = stderr // stdout holds the archive: the summary goes beside the messages
		}
	}
	if store != nil && sum != nil {
		sum.StoredBytes = storeSize(store)
	}
	return finish(ctx, stdout, stderr, *asJSON, dir, sum, err)
}

// finish prints the closing summary (text or JSON) on stdout and the error on stderr, and
// returns the exit code.
func finish(ctx context.Context, stdout, stderr io.Writer, asJSON bool, dir string, sum *dump.Summary, err error) int {
	code := exitOK
	if err != nil {
		code = fail(ctx, stderr, err)
	}
	if asJSON {
		if jerr := cmdline.WriteJSON(stdout, jsonSummary(sum, dir, err, code)); jerr != nil && code == exitOK {
			fmt.Fprintf(stderr, "godump: write the summary: %v\n", jerr)
			code = exitError
		}
		return code
	}
	if code == exitInterrupted && sum != nil && dir == "" {
		fmt.Fprintf(stdout, "Interrupted after %.2f s: the archive is incomplete (it has no end marker, so gorestore refuses it; a file archive was removed); run the dump again.\n", sum.Elapsed.Seconds())
	} else if code == exitInterrupted && sum != nil {
		// what was done and what to do, not a success-style summary
		fmt.Fprintf(stdout, "Interrupted after %.2f s: %d document(s) in %d batch(es) written to %s. It has no completion marker, so gorestore refuses it (unless --force true); run the dump again with --continue true to finish it (the data files already complete are kept), or with --overwrite true to start again.\n",
			sum.Elapsed.Seconds(), sum.Documents, sum.Batches, dir)
	}
	if err == nil && sum != nil {
		fmt.Fprintln(stdout, summaryLine(sum, dir))
		if sum.KeptFiles > 0 {
			fmt.Fprintf(stdout, "Continued: %d data file(s) holding %d document(s) kept from the earlier run(s); the dump is not one point in time (gorestore --list shows each collection's run).\n", sum.KeptFiles, sum.KeptDocuments)
		}
		if len(sum.Complete) > 0 {
			fmt.Fprintf(stdout, "Already complete, left as they were: %s.\n", strings.Join(sum.Complete, ", "))
		}
	}
	return code
}

// commandWords are words a user may type meaning a command rather than an output directory
// (`godump version` once dumped _system into ./version), with what they probably meant.
var commandWords = map[string]string{
	"version":   "godump --version",
	"help":      "godump --help",
	"hotbackup": "godump hotbackup <command> [options] (the subcommand comes first)",
	"physical":  "godump physical [options] (the subcommand comes first)",
	"create":    "godump hotbackup create",
	"list":      "godump hotbackup list",
	"restore":   "gorestore [options] input-directory, or gorestore hotbackup restore",
	"delete":    "godump hotbackup delete",
	"upload":    "godump hotbackup upload",
	"download":  "godump hotbackup download",
}

// fail prints err and maps it to the exit code.
func fail(ctx context.Context, stderr io.Writer, err error) int {
	if ctx.Err() != nil || errors.Is(err, dump.ErrInterrupted) {
		// one line: the requests that were cut short ("context canceled") say nothing more
		fmt.Fprintln(stderr, "godump: interrupted; temporary files removed, the dump is incomplete")
		return exitInterrupted
	}
	fmt.Fprintf(stderr, "godump: %v\n", err)
	switch {
	case errors.Is(err, dump.ErrUsage), errors.Is(err, client.ErrBadOption):
		return exitUsage
	}
	return exitError
}

// summaryLine is arangodump's closing line.
func summaryLine(s *dump.Summary, dir string) string {
	if s3dump.IsURL(dir) {
		return fmt.Sprintf("Processed %d collection(s) from %d database(s) in %.2f s total time. Retrieved %s from server, sent %d batch(es) in total. Total written (before compression): %s. Size of the dump in %s: %s",
			s.Collections, s.Databases, s.Elapsed.Seconds(), progress.Bytes(s.BytesReceived), s.Batches,
			progress.Bytes(s.BytesWritten), dir, progress.Bytes(s.StoredBytes))
	}
	if dir == "" { // --archive
		return fmt.Sprintf("Processed %d collection(s) from %d database(s) in %.2f s total time. Retrieved %s from server, sent %d batch(es) in total. Total written (before compression): %s. Size of the archive: %s",
			s.Collections, s.Databases, s.Elapsed.Seconds(), progress.Bytes(s.BytesReceived), s.Batches,
			progress.Bytes(s.BytesWritten), progress.Bytes(s.ArchiveBytes))
	}
	return fmt.Sprintf("Processed %d collection(s) from %d database(s) in %.2f s total time. Retrieved %s from server, sent %d batch(es) in total. Total written to disk (before compression): %s. Size of dump directory on disk (after compression): %s",
		s.Collections, s.Databases, s.Elapsed.Seconds(), progress.Bytes(s.BytesReceived), s.Batches,
		progress.Bytes(s.BytesWritten), progress.Bytes(dirSize(dir)))
}

// storeSize adds up the objects of a dump on an object store (a database directory, or one
// per database).
func storeSize(st *s3dump.Store) int64 {
	var n int64
	files, _ := st.List()
	for _, f := range files {
		if s, err := st.Size(f); err == nil {
			n += s
		}
	}
	dirs, _ := st.Dirs()
	for _, d := range dirs {
		n += storeSize(st.Sub(d).(*s3dump.Store))
	}
	return n
}

func dirSize(dir string) int64 {
	var n int64
	if dir == "" || s3dump.IsURL(dir) {
		return 0
	}
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n
}

// summaryJSON is the --json summary: the figures of the text summary, machine-readable, and
// on failure the error and the exit code (the text error is on stderr as well).
type summaryJSON struct {
	Tool             string   `json:"tool"`
	OK               bool     `json:"ok"`
	ExitCode         int      `json:"exitCode"`
	Error            string   `json:"error,omitempty"`
	Interrupted      bool     `json:"interrupted,omitempty"`
	OutputDirectory  string   `json:"outputDirectory"`
	Databases        int      `json:"databases"`
	Collections      int      `json:"collections"`
	Jobs             int      `json:"jobs"`
	Documents        int64    `json:"documents"`
	Batches          int64    `json:"batches"`
	Retries          int64    `json:"retries"`
	BytesReceived    int64    `json:"bytesReceived"`
	BytesWritten     int64    `json:"bytesWritten"`
	BytesOnDisk      int64    `json:"bytesOnDisk"`
	Protocol         string   `json:"protocol,omitempty"`
	Seconds          float64  `json:"seconds"`
	Warnings         []string `json:"warnings"`
	SkippedDatabases []string `json:"skippedDatabases,omitempty"`
	ArchiveBytes     int64    `json:"archiveBytes,omitempty"`
	KeptFiles        int      `json:"keptFiles,omitempty"`
	KeptDocuments    int64    `json:"keptDocuments,omitempty"`
	CompleteAlready  []string `json:"alreadyCompleteDatabases,omitempty"`
	Removed          []string `json:"removedFiles,omitempty"`
}

func jsonSummary(s *dump.Summary, dir string, err error, code int) summaryJSON {
	j := summaryJSON{Tool: "godump", OK: err == nil, ExitCode: code, OutputDirectory: dir, Warnings: []string{}}
	if err != nil {
		j.Error = client.RedactText(err.Error())
		j.Interrupted = code == exitInterrupted
	}
	if s != nil {
		j.Databases, j.Collections, j.Jobs = s.Databases, s.Collections, s.Jobs
		j.Documents, j.Batches, j.Retries = s.Documents, s.Batches, s.Retries
		j.BytesReceived, j.BytesWritten, j.BytesOnDisk = s.BytesReceived, s.BytesWritten, dirSize(dir)
		if dir == "" {
			j.BytesOnDisk, j.ArchiveBytes = s.ArchiveBytes, s.ArchiveBytes
		}
		if s3dump.IsURL(dir) {
			j.BytesOnDisk = s.StoredBytes
		}
		j.Protocol, j.Seconds, j.SkippedDatabases = s.Protocol, s.Elapsed.Seconds(), s.Skipped
		j.KeptFiles, j.KeptDocuments, j.CompleteAlready, j.Removed = s.KeptFiles, s.KeptDocuments, s.Complete, s.Dropped
		if s.Warnings != nil {
			j.Warnings = s.Warnings
		}
	}
	return j
}

// program describes godump for --help, --dump-options, --version-json, completion and the
// man page.
func program() cliflag.Program {
	return cliflag.Program{
		Name:          "godump",
		Usage:         strings.TrimRight(usageText, "\n"),
		Summary:       "Dumps ArangoDB databases into a directory that arangorestore and gorestore read (arangodump's options and format; parallel and streaming).",
		Footer:        exitCodesHelp,
		Version:       version,
		PositionalDir: true,
		Subcommands: []cliflag.Subcommand{
			{Name: "hotbackup", Summary: "hot backups through the server's Hot Backup API (arangobackup)", Words: []string{"create", "list", "restore", "delete", "upload", "download"}},
			{Name: "physical", Summary: "a cold copy of a stopped server's data directory"},
		},
	}
}
