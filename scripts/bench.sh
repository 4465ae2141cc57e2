#!/usr/bin/env bash
# Runs the throughput benchmark (dispatch on SQLite and PostgreSQL, TwiML webhook latency) with a
# throwaway PostgreSQL cluster, like scripts/test.sh, then the live Media Streams benchmark
# (concurrent streams per core, SQLite). Extra arguments go to the throughput benchmark:
#   bash scripts/bench.sh --calls 5000 --rps 1000 --secs 10
# The streams benchmark takes its settings from the environment:
#   STREAMS_N=250,500,1000,2000 STREAMS_SECS=20 STREAMS_TRACKS=both STREAMS_PIN=0 bash scripts/bench.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/pg-throwaway.sh
cargo bench -p switchboard --bench throughput -- "$@"
cargo bench -p switchboard --bench streams
