package main

import (
	"context"

	"github.com/arangobackup/godump/hotbackup/backupcli"
)

// runHotbackup runs the hotbackup subcommands (create, list, restore, delete, upload, download).
func runHotbackup(ctx context.Context, args []string) int {
	return backupcli.RunHotbackup(ctx, "godump hotbackup", backupcli.HotOperations, args, backupcli.TerminalIO())
}
