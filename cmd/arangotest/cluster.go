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
func runCluster(opts arangotest.Options, coordinators, dbservers int, seed string) int {
	if coordinators < 1 || dbservers < 1 {
		fmt.Fprintln(os.Stderr, "arangotest: --coordinators and --dbservers must be at least 1")
		return 2
	}
	cl, err := arangotest.NewCluster(arangotest.ClusterOptions{Options: opts, Coordinators: coordinators, DBServers: dbservers})
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
