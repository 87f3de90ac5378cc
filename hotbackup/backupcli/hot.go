package backupcli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/pflag"

	"github.com/arangobackup/godump/client"
	"github.com/arangobackup/godump/cliflag"
	"github.com/arangobackup/godump/clilog"
	"github.com/arangobackup/godump/hotbackup"
	"github.com/arangobackup/godump/progress"
)

// HotOperations are the operations of `godump hotbackup`.
var HotOperations = []string{"create", "list", "restore", "delete", "upload", "download"}

// hotOptions are arangobackup's options.
type hotOptions struct {
	conn              client.Options
	label             string
	maxWaitForLock    float64
	allowInconsistent bool
	force             bool
	identifier        string
	ignoreVersion     bool
	maxWaitForRestart float64
	remotePath        string
	rcloneConfigFile  string
	statusID          string
	abort             bool
	json              bool
	yes               bool
	operation         string
}

// which operations each option belongs to (for clear errors on misuse).
var hotOptionOps = map[string][]string{
	"label": {"create"}, "max-wait-for-lock": {"create"}, "allow-inconsistent": {"create"}, "force": {"create"},
	"identifier": {"restore", "delete", "upload", "download", "list"}, "ignore-version": {"restore"},
	"max-wait-for-restart": {"restore"}, "yes": {"restore"},
	"remote-path": {"upload", "download"}, "rclone-config-file": {"upload", "download"},
	"status-id": {"upload", "download"}, "abort": {"upload", "download"},
	"json": {"list", "create", "upload", "download"},
}

// RunHotbackup runs `<prog> <operation> [options]` with the operations in ops
// (HotOperations for godump; gorestore offers restore and list).
func RunHotbackup(ctx context.Context, prog string, ops []string, args []string, s *IO) int {
	err := runHot(ctx, prog, ops, args, s)
	if s.closeLog != nil {
		defer s.closeLog()
	}
	if err == nil {
		return ExitOK
	}
	var de *doneError
	if errors.As(err, &de) {
		return de.code
	}
	code := exitCode(err)
	s.errorf("%s: error: %v\n", prog, err)
	if hint := hotHint(err); hint != "" {
		s.errorf("%s: %s\n", prog, hint)
	}
	if code == ExitUsage {
		s.errorf("Run '%s --help' for the options.\n", prog)
	}
	return code
}

// hotHint says what to do about an error.
func hotHint(err error) string {
	switch {
	case errors.Is(err, hotbackup.ErrLockTimeout):
		return "running write transactions kept the global write lock. Wait longer with --max-wait-for-lock <seconds>, " +
			"or take a possibly inconsistent backup with --allow-inconsistent true (on a cluster, --force true aborts running transactions instead)"
	case errors.Is(err, hotbackup.ErrNotSupported):
		return "this server has no Hot Backup API (Enterprise Edition, or Community from 3.12.5); use a logical dump (godump) or a physical backup (godump physical) instead"
	case errors.Is(err, hotbackup.ErrForbidden):
		return "hot backups need a superuser of the _system database (--server.username root)"
	case errors.Is(err, hotbackup.ErrNotFound):
		return "list the backups with: hotbackup list"
	case errors.Is(err, hotbackup.ErrTopology):
		return "a hot backup restores only to a deployment with the same number of DB-Servers; use a logical dump to move data between topologies"
	case errors.Is(err, hotbackup.ErrConflict):
		return "another hot backup operation is running; try again when it has finished"
	}
	return ""
}

func runHot(ctx context.Context, prog string, ops []string, args []string, s *IO) error {
	// the defaults of arangobackup (BackupFeature.h): 60 s for the lock; 0 for the restart,
	// that is, return the result of the restore request without waiting for the restart
	o := hotOptions{conn: client.DefaultOptions(), maxWaitForLock: 60, maxWaitForRestart: 0}
	fs := pflag.NewFlagSet(prog, pflag.ContinueOnError)
	fs.SetOutput(s.Err)
	fs.SortFlags = false
	// arangobackup's --operation (hidden there too), default list: `arangobackup` alone lists
	fs.StringVar(&o.operation, "operation", "list", "the operation to perform, one of "+strings.Join(ops, "|")+" (usually given as the positional argument)")
	_ = fs.MarkHidden("operation")
	showVersion := cliflag.Bool(fs, "version", false, "print the version and exit")
	compressTransfer := cliflag.Bool(fs, "compress-transfer", false, "accepted for arangobackup compatibility; no effect (hot backup requests carry no bulk data)")
	compressThreshold := cliflag.Size(fs, "compress-request-threshold", 0, "accepted for arangobackup compatibility; no effect (hot backup requests carry no bulk data)")
	fs.StringVar(&o.label, "label", "", "create: label appended to the backup id (<timestamp>_<label>); default: a UUID")
	fs.Float64Var(&o.maxWaitForLock, "max-wait-for-lock", o.maxWaitForLock, "create: seconds the server may wait for its global write lock (sent in whole seconds, fractions round up)")
	cliflag.BoolVar(fs, &o.allowInconsistent, "allow-inconsistent", false, "create: take a possibly inconsistent backup if the lock cannot be had in time")
	cliflag.BoolVar(fs, &o.force, "force", false, "create: abort running transactions to get the lock (cluster only)")
	fs.StringVar(&o.identifier, "identifier", "", "id of the backup (restore, delete, upload, download; list: only this one)")
	cliflag.BoolVar(fs, &o.ignoreVersion, "ignore-version", false, "restore: restore a backup of another server version (may fail)")
	fs.Float64Var(&o.maxWaitForRestart, "max-wait-for-restart", o.maxWaitForRestart, "restore: seconds to wait for the server to come back and verify the restore (0: do not wait, return the restore request's result)")
	cliflag.BoolVar(fs, &o.yes, "yes", false, "restore: restore without asking for confirmation (needed when stdin is not a terminal)")
	fs.StringVar(&o.remotePath, "remote-path", "", "upload/download: rclone remote and path, <remote>:<path>")
	fs.StringVar(&o.rcloneConfigFile, "rclone-config-file", "", "upload/download: JSON file {\"<remote>\": {rclone options}}")
	fs.StringVar(&o.statusID, "status-id", "", "upload/download: show the state of this transfer instead of starting one")
	cliflag.BoolVar(fs, &o.abort, "abort", false, "upload/download: with --status-id, abort the transfer")
	cliflag.BoolVar(fs, &o.json, "json", false, "print results as JSON (list, create, upload/download status)")
	client.AddFlags(fs, &o.conn)
	// Offer only the options of the operations this command has.
	for name, allowed := range hotOptionOps {
		if !slices.ContainsFunc(allowed, func(op string) bool { return slices.Contains(ops, op) }) {
			_ = fs.MarkHidden(name)
		}
	}
	configNames := []string{strings.ReplaceAll(prog, " ", "-"), "arangobackup"}
	setup, err := parse(fs, args, cliflag.Program{
		Name:  prog,
		Usage: fmt.Sprintf("Usage: %s <%s> [options]", prog, strings.Join(ops, "|")),
		Summary: "Hot backups of a whole deployment through the server's Hot Backup API (like arangobackup).\n" +
			"Operations: " + strings.Join(ops, ", ") + ".",
		Footer: exitTable,
	}, configNames, s)
	if err != nil {
		return err
	}
	s.closeLog = setup.Close // RunHotbackup closes it after the last message
	o.conn.Logger = setup.Logger.Topic(clilog.TopicRequests)
	if *showVersion {
		fmt.Fprint(s.Out, cliflag.VersionText(prog, ""))
		return nil
	}
	if *compressTransfer || *compressThreshold != 0 {
		s.errorf("%s: --compress-transfer and --compress-request-threshold have no effect: hot backup requests carry no bulk data\n", prog)
	}
	op := o.operation
	switch {
	case fs.NArg() == 1 && (!fs.Changed("operation") || op == fs.Arg(0)):
		op = fs.Arg(0)
	case fs.NArg() == 0:
	default:
		got := fs.Args()
		if fs.Changed("operation") {
			got = append([]string{o.operation}, got...)
		}
		return usagef("expected exactly one operation of %s, got %q", strings.Join(ops, "|"), got)
	}
	if !slices.Contains(ops, op) {
		return usagef("unknown operation %q; expected one of %s", op, strings.Join(ops, "|"))
	}
	// as arangobackup: an option of another operation is accepted and has no effect
	fs.Visit(func(f *pflag.Flag) {
		if allowed, ok := hotOptionOps[f.Name]; ok && !slices.Contains(allowed, op) {
			s.errorf("%s: --%s has no effect with %s (it is for %s)\n", prog, f.Name, op, strings.Join(allowed, ", "))
		}
	})
	if o.conn.Database != "_system" {
		return usagef("hot backups are global and must be performed on the _system database with superuser rights (got --server.database %q)", o.conn.Database)
	}
	if o.maxWaitForLock < 0 || o.maxWaitForRestart < 0 {
		return usagef("--max-wait-for-lock and --max-wait-for-restart must be >= 0")
	}
	if o.abort && o.statusID == "" {
		return usagef("--abort needs --status-id")
	}
	switch op {
	case "restore", "delete":
		if o.identifier == "" {
			return usagef("%s needs --identifier (see: hotbackup list)", op)
		}
		// A restore reverts the whole deployment: a script must say so, it is never assumed.
		if op == "restore" && !o.yes && !s.Interactive {
			return usagef("restore reverts the WHOLE deployment to backup '%s' and needs a confirmation, "+
				"but there is no terminal to ask on (stdin or stderr is not one); nothing was changed. "+
				"Give --yes true to restore without asking", o.identifier)
		}
	case "upload", "download":
		if (o.identifier == "") == (o.statusID == "") {
			return usagef("%s needs exactly one of --identifier (start a transfer) and --status-id (ask about one)", op)
		}
		if o.identifier != "" && (o.remotePath == "" || o.rcloneConfigFile == "") {
			return usagef("%s needs --remote-path and --rclone-config-file", op)
		}
	}
	if s.ReadPassword != nil {
		// as godump and gorestore: on a terminal, with no password given, ask for it
		prompt := cliflag.PasswordPrompt{IsTerminal: func() bool { return s.Interactive }, Read: s.ReadPassword, Out: s.Err}
		if err := cliflag.AskPassword(fs, cliflag.Credentials{Authentication: o.conn.Authentication, JWTToken: o.conn.JWTToken,
			Username: o.conn.Username, Password: &o.conn.Password, PasswordEnv: client.PasswordEnv}, prompt); err != nil {
			return err
		}
	}
	o.conn.OnRetry = client.RetryReporter(s.messages(), prog, o.conn.MaxRetries)
	conn, err := client.Connect(ctx, o.conn)
	if err != nil {
		return err
	}
	hb := hotbackup.New(conn)
	switch op {
	case "create":
		return hotCreate(ctx, hb, o, s)
	case "list":
		return hotList(ctx, hb, o, s)
	case "delete":
		if err := hb.Delete(ctx, o.identifier); err != nil {
			return err
		}
		s.printf("Deleted backup '%s'.\n", o.identifier)
		return nil
	case "restore":
		return hotRestore(ctx, hb, o, s)
	default:
		return hotTransfer(ctx, prog, hb, hotbackup.Direction(op), o, s)
	}
}

func hotCreate(ctx context.Context, hb *hotbackup.Client, o hotOptions, s *IO) error {
	res, err := hb.Create(ctx, hotbackup.CreateOptions{
		Label: o.label, MaxWaitForLock: time.Duration(o.maxWaitForLock * float64(time.Second)),
		AllowInconsistent: o.allowInconsistent, Force: o.force,
	})
	if err != nil {
		if errors.Is(err, hotbackup.ErrLockTimeout) {
			return fmt.Errorf("no backup taken after %.1fs: %w", res.Took.Seconds(), err)
		}
		return err
	}
	if o.json {
		return writeJSON(s, map[string]any{"id": res.ID, "sizeInBytes": res.SizeInBytes, "nrFiles": res.NrFiles,
			"nrDBServers": res.NrDBServers, "potentiallyInconsistent": res.PotentiallyInconsistent,
			"datetime": res.DateTime, "seconds": res.Took.Seconds()})
	}
	s.printf("Backup succeeded. Generated identifier '%s'\n", res.ID)
	s.printf("size %s, %d files, %d DB-Server(s); took %.2fs including waiting for the global write lock\n",
		progress.Bytes(int64(res.SizeInBytes)), res.NrFiles, res.NrDBServers, res.Took.Seconds())
	if res.PotentiallyInconsistent {
		s.errorf("warning: the backup is potentially inconsistent: the global write lock could not be obtained within %gs\n", o.maxWaitForLock)
	}
	return nil
}

func hotList(ctx context.Context, hb *hotbackup.Client, o hotOptions, s *IO) error {
	list, err := hb.List(ctx, o.identifier)
	if err != nil {
		return err
	}
	if o.json {
		return writeJSON(s, list)
	}
	if len(list) == 0 {
		s.printf("There are no backups available.\n")
		return nil
	}
	tw := tabwriter.NewWriter(s.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tDATE\tVERSION\tSIZE\tFILES\tDB-SERVERS\tAVAILABLE\tCONSISTENT")
	for _, b := range list {
		date := ""
		if !b.DateTime.IsZero() {
			date = b.DateTime.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%s\t%s\n", b.ID, date, b.Version, progress.Bytes(int64(b.SizeInBytes)),
			b.NrFiles, b.NrDBServers, yesNo(b.Available), yesNo(!b.PotentiallyInconsistent))
	}
	return tw.Flush()
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func writeJSON(s *IO, v any) error {
	enc := json.NewEncoder(s.Out)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func hotRestore(ctx context.Context, hb *hotbackup.Client, o hotOptions, s *IO) error {
	list, err := hb.List(ctx, o.identifier)
	if err != nil {
		return err
	}
	b := list[0]
	if !b.Available {
		return fmt.Errorf("backup '%s' is not available on every DB-Server (%d of %d pieces present); download it first", b.ID, b.NrPiecesPresent, b.NrDBServers)
	}
	if s.Interactive && !o.yes {
		s.errorf("Restoring backup '%s' (taken %s) reverts the WHOLE deployment to that moment:\n"+
			"every database, collection, user, graph and view; changes made since are lost.\n", b.ID, b.DateTime.UTC().Format(time.RFC3339))
		if !s.ask("Restore it now?") {
			return errors.New("restore not confirmed; nothing changed (--yes true skips the question)")
		}
	}
	if b.PotentiallyInconsistent {
		s.errorf("warning: backup '%s' is potentially inconsistent\n", b.ID)
	}
	if o.maxWaitForRestart == 0 {
		if err := hb.RestoreNoWait(ctx, b.ID, o.ignoreVersion); err != nil {
			return err
		}
		s.printf("Restore of backup '%s' started; the server restarts with the restored data (not waiting).\n", b.ID)
		return nil
	}
	s.errorf("Restoring backup '%s'; waiting for the server to come back...\n", b.ID)
	res, err := hb.Restore(ctx, b.ID, hotbackup.RestoreOptions{
		IgnoreVersion: o.ignoreVersion, MaxWaitForRestart: time.Duration(o.maxWaitForRestart * float64(time.Second)),
	})
	if err != nil {
		return err
	}
	s.printf("Successfully restored '%s' in %.1fs; the server is available and lists the backup.\n", b.ID, res.Took.Seconds())
	return nil
}

func hotTransfer(ctx context.Context, prog string, hb *hotbackup.Client, dir hotbackup.Direction, o hotOptions, s *IO) error {
	id := o.statusID
	if id != "" {
		if o.abort {
			if err := hb.AbortTransfer(ctx, dir, id); err != nil {
				return err
			}
			s.errorf("Asked the server to abort %s %s.\n", dir, id)
		}
		st, err := hb.TransferProgress(ctx, dir, id)
		if err != nil {
			return err
		}
		printTransfer(s, st, o.json)
		if st.Finished() {
			return st.Err()
		}
		return nil
	}
	cfg, err := hotbackup.ReadRemoteConfig(o.rcloneConfigFile)
	if err != nil {
		return usagef("%v", err)
	}
	if err := hotbackup.CheckRemotePath(o.remotePath, cfg); err != nil {
		return usagef("--remote-path: %v", err)
	}
	id, err = hb.StartTransfer(ctx, dir, o.identifier, o.remotePath, cfg)
	if err != nil {
		return err
	}
	where := "to"
	if dir == hotbackup.Download {
		where = "from"
	}
	s.errorf("%s of backup '%s' %s %s started; status id %s\n", titled(dir), o.identifier, where, o.remotePath, id)
	// arangobackup's lines (BackupFeature.cpp), which scripts look for
	s.errorf("Backup initiated, use\n    %s %s --status-id=%s\n to query progress.\n", prog, dir, id)
	last := map[string]string{}
	report := func(st hotbackup.TransferStatus) {
		for _, name := range st.Servers() {
			line := serverLine(st.DBServers[name])
			if last[name] != line {
				last[name] = line
				s.errorf("  %s %s: %s\n", dir, name, line)
			}
		}
	}
	st, err := hb.WaitTransfer(ctx, dir, id, report)
	if err != nil && ctx.Err() != nil {
		return interruptedTransfer(ctx, prog, hb, dir, id, s, report)
	}
	if err != nil {
		return err
	}
	if o.json {
		printTransfer(s, st, true)
	} else {
		s.printf("%s %s of backup '%s' completed on %d DB-Server(s).\n", titled(dir), id, st.BackupID, len(st.DBServers))
	}
	return nil
}

// interruptedTransfer handles Ctrl-C during a transfer: on a terminal it asks
// whether to abort the transfer on the server; otherwise (or on "no") the
// transfer goes on and the status id is printed.
func interruptedTransfer(ctx context.Context, prog string, hb *hotbackup.Client, dir hotbackup.Direction, id string, s *IO, report func(hotbackup.TransferStatus)) error {
	s.errorf("\nInterrupted.\n")
	if s.ask(fmt.Sprintf("Abort the %s on the server too? (no: it goes on running)", dir)) {
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
		defer cancel()
		if err := hb.AbortTransfer(actx, dir, id); err != nil {
			return fmt.Errorf("abort %s %s: %w", dir, id, err)
		}
		st, err := hb.WaitTransfer(actx, dir, id, report)
		if errors.Is(err, hotbackup.ErrTransferCancelled) {
			return fmt.Errorf("%s %s aborted: %w", dir, id, err)
		}
		if err == nil {
			s.errorf("The %s %s had completed before the abort arrived.\n", dir, st.ID)
			return nil
		}
		return err
	}
	s.errorf("The %s goes on on the server. Check it with:\n  %s %s --status-id %s\nand abort it with:\n  %s %s --status-id %s --abort true\n",
		dir, prog, dir, id, prog, dir, id)
	return fmt.Errorf("%s %s left running: %w", dir, id, context.Canceled)
}

func titled(d hotbackup.Direction) string {
	return strings.ToUpper(string(d[:1])) + string(d[1:])
}

func serverLine(st hotbackup.ServerTransfer) string {
	line := st.Status
	if st.Progress.Total > 0 {
		line += fmt.Sprintf(" %d/%d", st.Progress.Done, st.Progress.Total)
	}
	if st.Status == hotbackup.StatusFailed {
		line += fmt.Sprintf(" (error %d: %s)", st.Error, st.ErrorMessage)
	}
	return line
}

func printTransfer(s *IO, st hotbackup.TransferStatus, asJSON bool) {
	if asJSON {
		writeJSON(s, st)
		return
	}
	s.printf("%s %s of backup '%s' (%s)\n", titled(st.Direction), st.ID, st.BackupID, st.Timestamp)
	for _, name := range st.Servers() {
		s.printf("  %s: %s\n", name, serverLine(st.DBServers[name]))
	}
}
