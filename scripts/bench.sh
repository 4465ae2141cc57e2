#!/usr/bin/env bash
# Runs the throughput benchmark (dispatch on SQLite and PostgreSQL, TwiML webhook latency) with a
# throwaway PostgreSQL cluster, like scripts/test.sh. Extra arguments go to the benchmark:
#   bash scripts/bench.sh --calls 5000 --rps 1000 --secs 10
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/pg-throwaway.sh
cargo bench -p switchboard --bench throughput -- "$@"
