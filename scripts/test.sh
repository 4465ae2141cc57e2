#!/usr/bin/env bash
# Runs the whole test suite, PostgreSQL tests included, on a fresh Debian machine.
# Installs what it needs (PostgreSQL server binaries, a C compiler) and starts a throwaway
# PostgreSQL cluster on a free loopback port unless SWITCHBOARD_TEST_PG is already set.
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/pg-throwaway.sh

cargo test --workspace "$@"
