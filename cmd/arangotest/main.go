// Command arangotest runs the in-memory ArangoDB-compatible test server in the foreground until
// SIGINT or SIGTERM. The first line on stdout is "arangotest listening on http://127.0.0.1:PORT"
// (https:// with --ssl.keyfile, unix:///PATH with --unix-socket).
package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/spf13/pflag"

	"github.com/arangobackup/godump/arangotest"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	fs := pflag.NewFlagSet("arangotest", pflag.ContinueOnError)
	port := fs.Int("port", 8529, "TCP port to listen on (127.0.0.1); 0 picks a free port")
	version := fs.String("version", "3.12.4", "server version to report, e.g. 3.11.14 (3.11 has no /_api/dump)")
	license := fs.String("license", "enterprise", "license to report: enterprise or community")
	auth := fs.String("auth", "", "enable authentication with USER:PASSWORD (root is always a user); empty = no authentication")
	jwtSecret := fs.String("jwt-secret", "", "secret for the JWTs handed out by /_open/auth (default random)")
	seed := fs.String("seed", "", "load sample data: \"demo\" creates the database demo")
	faultSeed := fs.Int64("fault-seed", 0, "seed of the probabilistic fault injection rules")
	compress := fs.Int("http.compress-response-threshold", 0, "compress response bodies of at least this many bytes when the client accepts gzip/deflate; 0 = never (the server's default)")
	cluster := fs.Bool("cluster", false, "run a cluster: Coordinators on --port, --port+1, ... over shared state (default false)")
	coordinators := fs.Int("coordinators", 1, "number of Coordinators with --cluster")
	dbservers := fs.Int("dbservers", 2, "number of DB-Servers owning shards with --cluster")
	minRF := fs.Int("cluster.min-replication-factor", 1, "with --cluster: the minimum replication factor of new collections (1 to 10); also the default replication factor")
	maxRF := fs.Int("cluster.max-replication-factor", 10, "with --cluster: the maximum replication factor of new collections (0 to 10)")
	unixSocket := fs.String("unix-socket", "", "listen on this Unix socket instead of --port (as arangod's --server.endpoint unix:///PATH); the socket file is removed on exit")
	sslKeyfile := fs.String("ssl.keyfile", "", "serve HTTPS on --port with the certificate and private key in this PEM file (as arangod's --ssl.keyfile); empty = cleartext HTTP")
	dataDir := fs.String("data-dir", "", "keep the state in this directory (locked with DIR/LOCK while running, written on SIGTERM/SIGINT and after each hot backup; hot backups under DIR/backups; with --cluster one directory per process under DIR: agent-1, coordinator-N, dbserver-ID); empty = memory only")
	if err := fs.Parse(args); err != nil {
		if err == pflag.ErrHelp {
			return 0
		}
		fmt.Fprintln(os.Stderr, "arangotest:", err)
		return 2
	}
	opts := arangotest.Options{
		Version:                   *version,
		License:                   *license,
		JWTSecret:                 *jwtSecret,
		FaultSeed:                 *faultSeed,
		CompressResponseThreshold: *compress,
		Addr:                      "127.0.0.1:" + strconv.Itoa(*port),
		UnixSocket:                *unixSocket,
		DataDir:                   *dataDir,
	}
	if *sslKeyfile != "" {
		if *unixSocket != "" {
			fmt.Fprintln(os.Stderr, "arangotest: --ssl.keyfile and --unix-socket: a Unix socket is served without TLS")
			return 2
		}
		pem, err := os.ReadFile(*sslKeyfile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "arangotest: --ssl.keyfile:", err)
			return 2
		}
		cert, err := tls.X509KeyPair(pem, pem)
		if err != nil {
			fmt.Fprintf(os.Stderr, "arangotest: --ssl.keyfile %s: want a PEM certificate and its private key: %v\n", *sslKeyfile, err)
			return 2
		}
		opts.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	}
	if *auth != "" {
		user, pass, ok := strings.Cut(*auth, ":")
		if !ok || user == "" {
			fmt.Fprintln(os.Stderr, "arangotest: --auth wants USER:PASSWORD")
			return 2
		}
		opts.Users = map[string]string{user: pass}
	}
	if *seed != "" && *seed != "demo" {
		fmt.Fprintf(os.Stderr, "arangotest: --seed %q: only \"demo\" is known\n", *seed)
		return 2
	}
	if *cluster && (opts.TLS != nil || opts.UnixSocket != "") {
		fmt.Fprintln(os.Stderr, "arangotest: --ssl.keyfile and --unix-socket are for a single server, not with --cluster")
		return 2
	}
	if *cluster {
		return runCluster(arangotest.ClusterOptions{Options: opts, Coordinators: *coordinators, DBServers: *dbservers,
			MinReplicationFactor: *minRF, MaxReplicationFactor: *maxRF}, *seed)
	}
	srv, err := arangotest.NewServer(opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, "arangotest:", err)
		return 1
	}
	defer srv.Close()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *seed == "demo" {
		if err := srv.SeedDemo(ctx); err != nil {
			fmt.Fprintln(os.Stderr, "arangotest: seed demo:", err)
			return 1
		}
	}
	fmt.Printf("arangotest listening on %s\n", srv.Endpoint())
	os.Stdout.Sync()
	<-ctx.Done()
	stop()
	if err := srv.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "arangotest: close:", err)
		return 1
	}
	return 0
}
