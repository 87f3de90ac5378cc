package main

import (
	"context"
	"os"

	"golang.org/x/term"

	"github.com/arangobackup/godump/hotbackup/backupcli"
)

// backupIO is the terminal the backup commands talk to.
func backupIO() *backupcli.IO {
	return &backupcli.IO{In: os.Stdin, Out: os.Stdout, Err: os.Stderr,
		Interactive: term.IsTerminal(int(os.Stdin.Fd())) && term.IsTerminal(int(os.Stderr.Fd()))}
}

// runHotbackup runs `gorestore hotbackup restore` (and list, to find the id).
func runHotbackup(ctx context.Context, args []string) int {
	return backupcli.RunHotbackup(ctx, "gorestore hotbackup", []string{"restore", "list"}, args, backupIO())
}
