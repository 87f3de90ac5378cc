package main

import (
	"context"

	"github.com/arangobackup/godump/hotbackup/backupcli"
)

// runHotbackup runs `gorestore hotbackup restore` (and list, to find the id).
func runHotbackup(ctx context.Context, args []string) int {
	return backupcli.RunHotbackup(ctx, "gorestore hotbackup", []string{"restore", "list"}, args, backupcli.TerminalIO())
}
