#!/usr/bin/env bash
# make bench: the speed and memory figures of the project.
#   BENCH_BYTES   size of the generated data set for the dump/restore benchmarks (default 1 GiB)
#   BENCH_FILTER  which benchmarks to run (a go test -bench pattern, default all)
#   BENCH_PROFILE_DIR  if set, every godump and gorestore run writes a CPU profile there, named
#                 after the run (their hidden GODUMP_CPUPROFILE / GORESTORE_CPUPROFILE hooks);
#                 read one with: go tool pprof -top bin/godump DIR/NAME.prof
# Every tool run and every floor reports MB/s and CPU seconds per GB of documents (the tool's
# and the server's); the goals at the end are each a ratio against a floor of the same run.
set -euo pipefail
cd "$(dirname "$0")/.."
export BENCH_BYTES=${BENCH_BYTES:-1073741824}
filter=${BENCH_FILTER:-.}
echo "== format and arangotest micro-benchmarks"
go test -run '^$' -bench "$filter" -benchtime 3x -timeout 30m ./format/ ./arangotest/
echo "== godump and gorestore on a generated data set of $BENCH_BYTES bytes"
GODUMP_BIN="$PWD/bin" go test -run '^$' -bench "$filter" -benchtime 1x -timeout 60m ./e2e/
