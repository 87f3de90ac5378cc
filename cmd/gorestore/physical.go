package main

import (
	"context"

	"github.com/arangobackup/godump/hotbackup/backupcli"
)

// runPhysical restores a physical (cold) backup into stopped servers' data directories.
func runPhysical(ctx context.Context, args []string) int {
	return backupcli.RunPhysicalRestore(ctx, "gorestore physical", args, backupcli.TerminalIO())
}
