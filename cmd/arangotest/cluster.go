package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/arangobackup/godump/arangotest"
)

// runCluster runs --cluster: the first line on stdout is "arangotest listening on URL" (the
// first Coordinator), the second "arangotest coordinators URL,URL,...".
func runCluster(copts arangotest.ClusterOptions, seed string) int {
	if copts.Coordinators < 1 || copts.DBServers < 1 {
		fmt.Fprintln(os.Stderr, "arangotest: --coordinators and --dbservers must be at least 1")
		return 2
	}
	if copts.MinReplicationFactor < 1 {
		// the library's 0 is "not given"; the option itself must be at least 1
		fmt.Fprintln(os.Stderr, "arangotest: --cluster.min-replication-factor must be between 1 and 10")
		return 2
	}
	if copts.MaxReplicationFactor == 0 {
		// The server's "0 = unrestricted" is below its default replication factor (at least
		// 1), which ClusterFeature refuses at startup.
		fmt.Fprintln(os.Stderr, "arangotest: Invalid value for `--cluster.default-replication-factor`. Must not be lower than "+
			"`--cluster.min-replication-factor` or higher than `--cluster.max-replication-factor`")
		return 2
	}
	cl, err := arangotest.NewCluster(copts)
	if err != nil {
		fmt.Fprintln(os.Stderr, "arangotest:", err)
		return 1
	}
	defer cl.Close()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if seed == "demo" {
		if err := cl.Coordinators()[0].SeedDemo(ctx); err != nil {
			fmt.Fprintln(os.Stderr, "arangotest: seed demo:", err)
			return 1
		}
	}
	eps := cl.Endpoints()
	fmt.Printf("arangotest listening on %s\n", eps[0])
	fmt.Printf("arangotest coordinators %s\n", strings.Join(eps, ","))
	os.Stdout.Sync()
	<-ctx.Done()
	stop()
	if err := cl.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "arangotest: close:", err)
		return 1
	}
	return 0
}
