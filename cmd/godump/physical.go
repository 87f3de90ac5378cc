package main

import (
	"context"

	"github.com/arangobackup/godump/hotbackup/backupcli"
)

// runPhysical runs the physical (cold) backup of a stopped server's data directory.
func runPhysical(ctx context.Context, args []string) int {
	return backupcli.RunPhysicalBackup(ctx, "godump physical", args, backupcli.TerminalIO())
}
