#!/usr/bin/env bash
# Runs the official go-driver v2 integration tests (package tests of the module version in
# go.mod) against bin/arangotest and prints "N passed, M failed, K skipped" (top-level tests).
#
# The driver's tests are built from a copy of the module cache (nothing of them is committed);
# their extra test dependencies come through the Go module proxy.
#
# Environment:
#   ARANGOTEST_BIN     server binary to test (default: build bin/arangotest)
#   CONFORMANCE_RUN    -test.run regexp (default: all)
#   CONFORMANCE_AUTH   TEST_AUTHENTICATION value, e.g. basic:root:secret (default: none)
#   CONFORMANCE_OUT    file for the go test -json stream (default: $WORK/conformance.json)
#   CONFORMANCE_ARGS   extra arguments for bin/arangotest
#   ENABLE_DATABASE_EXTRA_FEATURES=true  run the driver's compression tests too (the server
#                      then compresses responses, like arangod --http.compress-response-threshold=1)
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
GO=${GO:-go}
if [ -n "${ARANGOTEST_BIN:-}" ]; then
	BIN=$ARANGOTEST_BIN
else
	BIN=$ROOT/bin/arangotest
	$GO build -o "$BIN" ./cmd/arangotest
fi

DRV_VERSION=$($GO list -m -f '{{.Version}}' github.com/arangodb/go-driver/v2)
DRV_DIR=$($GO list -m -f '{{.Dir}}' github.com/arangodb/go-driver/v2)
WORK=${CONFORMANCE_WORK:-${TMPDIR:-/tmp}/arangotest-conformance-$DRV_VERSION}
mkdir -p "$WORK"
TESTBIN=$WORK/drivertests.test
if [ ! -x "$TESTBIN" ] || [ ! -d "$WORK/src/tests" ]; then
	rm -rf "$WORK/src"
	cp -r "$DRV_DIR" "$WORK/src"
	chmod -R u+w "$WORK/src"
	(cd "$WORK/src" && GOFLAGS=-mod=mod $GO test -c -o "$TESTBIN" ./tests)
fi

# Start the server on a free port; its first stdout line names the endpoint.
AUTH_ARGS=()
if [ -n "${CONFORMANCE_AUTH:-}" ]; then
	IFS=: read -r _ user pass <<<"$CONFORMANCE_AUTH"
	AUTH_ARGS=(--auth "$user:$pass")
fi
# The driver's CI starts the server with --http.compress-response-threshold=1 for these tests.
if [ "${ENABLE_DATABASE_EXTRA_FEATURES:-}" = "true" ]; then
	AUTH_ARGS+=(--http.compress-response-threshold 1)
fi
LOG=$WORK/server.log
# shellcheck disable=SC2086
"$BIN" --port 0 "${AUTH_ARGS[@]}" ${CONFORMANCE_ARGS:-} >"$WORK/server.out" 2>"$LOG" &
SERVER_PID=$!
trap 'kill $SERVER_PID 2>/dev/null || true; wait $SERVER_PID 2>/dev/null || true' EXIT
ENDPOINT=""
for _ in $(seq 1 100); do
	if ENDPOINT=$(head -n1 "$WORK/server.out" 2>/dev/null | sed -n 's/^arangotest listening on //p') && [ -n "$ENDPOINT" ]; then
		break
	fi
	sleep 0.1
done
if [ -z "$ENDPOINT" ]; then
	echo "conformance: arangotest did not start" >&2
	cat "$LOG" >&2
	exit 1
fi

OUT=${CONFORMANCE_OUT:-$WORK/conformance.json}
echo "conformance: go-driver $DRV_VERSION tests against $ENDPOINT (json: $OUT)" >&2
set +e
(cd "$WORK/src/tests" && TEST_ENDPOINTS=$ENDPOINT TEST_MODE=${CONFORMANCE_MODE:-single} TEST_AUTHENTICATION=${CONFORMANCE_AUTH:-} \
	$GO tool test2json -t "$TESTBIN" -test.v=test2json -test.timeout 20m -test.run "${CONFORMANCE_RUN:-.}" \
	-test.parallel 8) >"$OUT" 2>&1
set -e

# Count top-level test results.
PARSER=$WORK/parse.go
cat >"$PARSER" <<'EOF'
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
)

func main() {
	f, err := os.Open(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	res := map[string]string{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		var ev struct{ Action, Test string }
		if json.Unmarshal(sc.Bytes(), &ev) != nil || ev.Test == "" || strings.Contains(ev.Test, "/") {
			continue
		}
		switch ev.Action {
		case "pass", "fail", "skip":
			res[ev.Test] = ev.Action
		}
	}
	var names []string
	n := map[string]int{}
	for t, a := range res {
		n[a]++
		names = append(names, t)
	}
	sort.Strings(names)
	if os.Getenv("CONFORMANCE_LIST") != "" {
		for _, t := range names {
			fmt.Printf("%-5s %s\n", res[t], t)
		}
	} else {
		for _, t := range names {
			if res[t] != "pass" {
				fmt.Printf("%-5s %s\n", res[t], t)
			}
		}
	}
	fmt.Printf("%d passed, %d failed, %d skipped\n", n["pass"], n["fail"], n["skip"])
}
EOF
(cd "$WORK" && GOFLAGS= GO111MODULE=off $GO run "$PARSER" "$OUT")
