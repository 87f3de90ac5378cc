package backupcli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/spf13/pflag"

	"github.com/arangobackup/godump/cliflag"
	"github.com/arangobackup/godump/datadir"
	"github.com/arangobackup/godump/hotbackup/physical"
	"github.com/arangobackup/godump/progress"
)

// RunPhysicalBackup runs `godump physical`: the cold copy of stopped servers' data directories.
func RunPhysicalBackup(ctx context.Context, prog string, args []string, s *IO) int {
	var o physical.BackupOptions
	fs := pflag.NewFlagSet(prog, pflag.ContinueOnError)
	fs.SetOutput(s.Err)
	fs.SortFlags = false
	fs.StringArrayVar(&o.DataDirs, "data-dir", nil, "data directory of a stopped server (repeatable, one per process)")
	fs.StringVar(&o.Output, "output-directory", "", "directory to write the backup to (must be empty or new)")
	cliflag.BoolVar(fs, &o.Link, "link", false, "hard-link files instead of copying where the file system allows (the backup then shares files with the data directory)")
	cliflag.BoolVar(fs, &o.Overwrite, "overwrite", false, "replace a previous physical backup in the output directory")
	fs.IntVar(&o.Workers, "threads", 4, "files copied in parallel")
	showProgress := cliflag.Bool(fs, "progress", true, "show progress")
	err := parsePhysical(fs, args, cliflag.Program{Name: prog,
		Usage: fmt.Sprintf("Usage: %s --data-dir DIR [--data-dir DIR2 ...] --output-directory OUT [options]", prog),
		Summary: "Copies the data directory of a STOPPED server (one --data-dir per process of a cluster) with a\n" +
			"SHA-256 manifest. Refuses while a server holds DIR/LOCK.",
		Footer: exitTable}, s, func() error {
		if len(o.DataDirs) == 0 || o.Output == "" {
			return usagef("--data-dir and --output-directory are required")
		}
		return nil
	})
	if err == nil {
		o.Progress = newFileProgress(s, *showProgress)
		var res *physical.BackupResult
		res, err = physical.Backup(ctx, o)
		if err == nil {
			how := "copied"
			if o.Link {
				how = fmt.Sprintf("%d hard-linked, %d copied", res.Linked, res.Files-res.Linked)
			}
			s.printf("Physical backup of %d data director%s written to %s: %d files (%s), %s, %.1fs; manifest %s\n",
				len(o.DataDirs), plural(len(o.DataDirs), "y", "ies"), o.Output, res.Files, how, progress.Bytes(res.Bytes), res.Took.Seconds(), physical.ManifestName)
			if res.Linked > 0 {
				s.errorf("note: %d files of the backup are hard links shared with the data directory; a server that rewrites one in place changes the backup too (gorestore physical --verify-only finds that). Copy the backup elsewhere to keep it independent.\n", res.Linked)
			}
		}
	}
	return physicalExit(prog, err, s)
}

// RunPhysicalRestore runs `gorestore physical`: verify a physical backup and copy it into data directories.
func RunPhysicalRestore(ctx context.Context, prog string, args []string, s *IO) int {
	var o physical.RestoreOptions
	fs := pflag.NewFlagSet(prog, pflag.ContinueOnError)
	fs.SetOutput(s.Err)
	fs.SortFlags = false
	fs.StringVar(&o.Input, "input-directory", "", "the physical backup (written by godump physical)")
	fs.StringArrayVar(&o.DataDirs, "data-dir", nil, "data directory to restore into (repeatable)")
	cliflag.BoolVar(fs, &o.Overwrite, "overwrite", false, "replace the contents of non-empty data directories")
	verifyOnly := cliflag.Bool(fs, "verify-only", false, "only verify the backup against its manifest")
	fs.IntVar(&o.Workers, "threads", 4, "files copied in parallel")
	showProgress := cliflag.Bool(fs, "progress", true, "show progress")
	err := parsePhysical(fs, args, cliflag.Program{Name: prog,
		Usage: fmt.Sprintf("Usage: %s --input-directory IN --data-dir DIR [--data-dir DIR2 ...] [options]", prog),
		Summary: "Verifies a physical backup against its manifest, then restores it into the data directories\n" +
			"(one per data directory of the backup, in the backup's order). The servers must be stopped.",
		Footer: exitTable}, s, func() error {
		if o.Input == "" || (len(o.DataDirs) == 0 && !*verifyOnly) {
			return usagef("--input-directory and --data-dir are required")
		}
		return nil
	})
	if err == nil {
		o.Progress = newFileProgress(s, *showProgress)
		if *verifyOnly {
			var m *physical.Manifest
			m, err = physical.Verify(ctx, o.Input, o.Workers, o.Progress)
			if err == nil {
				s.printf("Physical backup %s verified: %d files, %s, all checksums match.\n", o.Input, m.Files, progress.Bytes(m.Bytes))
			}
		} else {
			var res *physical.RestoreResult
			res, err = physical.Restore(ctx, o)
			if err == nil {
				s.printf("Verified and restored %d files (%s) into %d data director%s in %.1fs. Start the server(s) on them.\n",
					res.Files, progress.Bytes(res.Bytes), len(o.DataDirs), plural(len(o.DataDirs), "y", "ies"), res.Took.Seconds())
			}
		}
	}
	return physicalExit(prog, err, s)
}

func parsePhysical(fs *pflag.FlagSet, args []string, prog cliflag.Program, s *IO, check func() error) error {
	setup, err := parse(fs, args, prog, []string{strings.ReplaceAll(prog.Name, " ", "-")}, s)
	if err != nil {
		return err
	}
	s.closeLog = setup.Close // physicalExit closes it after the last message
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	return check()
}

func physicalExit(prog string, err error, s *IO) int {
	if s.closeLog != nil {
		defer s.closeLog()
	}
	var de *doneError
	if errors.As(err, &de) {
		return de.code
	}
	if err == nil {
		return ExitOK
	}
	code := exitCode(err)
	s.errorf("%s: error: %v\n", prog, err)
	var le *datadir.LockedError
	switch {
	case errors.As(err, &le):
		s.errorf("%s: a running server's files change while they are copied; stop the server first, or take a hot backup (godump hotbackup create) or a logical dump of the running server instead\n", prog)
	case errors.Is(err, physical.ErrMismatch):
		s.errorf("%s: the backup is damaged or was modified; nothing was restored. Use another copy of the backup\n", prog)
	case code == ExitUsage:
		s.errorf("Run '%s --help' for the options.\n", prog)
	}
	return code
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// fileProgress prints one line per phase every few seconds (every second on a terminal).
type fileProgress struct {
	s        *IO
	on       bool
	interval time.Duration
	mu       sync.Mutex
	phase    string
	files    int
	bytes    int64
	doneF    int
	doneB    int64
	last     time.Time
}

func newFileProgress(s *IO, on bool) *fileProgress {
	iv := 5 * time.Second
	if s.Interactive {
		iv = time.Second
	}
	return &fileProgress{s: s, on: on, interval: iv}
}

func (p *fileProgress) Plan(phase string, files int, bytes int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.phase, p.files, p.bytes, p.doneF, p.doneB, p.last = phase, files, bytes, 0, 0, time.Now()
	if p.on {
		p.s.errorf("%s: %d files, %s\n", phase, files, progress.Bytes(bytes))
	}
}

func (p *fileProgress) Done(phase, path string, bytes int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.doneF++
	p.doneB += bytes
	if p.on && time.Since(p.last) >= p.interval {
		p.last = time.Now()
		p.s.errorf("%s: %d/%d files, %s of %s\n", p.phase, p.doneF, p.files, progress.Bytes(p.doneB), progress.Bytes(p.bytes))
	}
}
