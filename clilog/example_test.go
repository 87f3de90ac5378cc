package clilog_test

import (
	"fmt"
	"os"
	"time"

	"github.com/arangobackup/godump/cliflag"
	"github.com/arangobackup/godump/clilog"
	"github.com/spf13/pflag"
)

// A command registers the options, parses, prints the notices and hands topic loggers to
// the libraries.
func ExampleOptions_Setup() {
	fs := pflag.NewFlagSet("godump", pflag.ContinueOnError)
	logOpts := clilog.AddFlags(fs)
	if err := cliflag.Parse(fs, []string{"--log.level", "requests=debug", "--log.thread", "false"}); err != nil {
		panic(err)
	}
	log, notices, err := logOpts.Setup("godump", clilog.Env{
		Stdout: os.Stdout, Stderr: os.Stdout, // stdout here only so that the example can check it
		Now: func() time.Time { return time.Date(2026, 12, 3, 14, 0, 0, 123456000, time.UTC) },
		PID: 4242,
	})
	if err != nil {
		panic(err) // a *clilog.OptionError: exit with the "bad option" code
	}
	defer log.Close()
	for _, n := range notices {
		fmt.Println(n)
	}
	log.Info("Connected to ArangoDB", "endpoint", "http+tcp://127.0.0.1:8529")
	log.Topic(clilog.TopicRequests).Debug("GET /_api/version", "status", 200, "ms", 3)
	// Output:
	// --log.thread has no effect in godump
	// 2026-12-03T14:00:00.123456Z [4242] INFO {general} Connected to ArangoDB endpoint=http+tcp://127.0.0.1:8529
	// 2026-12-03T14:00:00.123456Z [4242] DEBUG {requests} GET /_api/version status=200 ms=3
}
