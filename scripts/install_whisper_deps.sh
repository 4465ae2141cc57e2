#!/usr/bin/env bash
# Installs the system packages that the `whisper` feature of switchboard-speech needs: cmake to
# build it (ct2rs builds CTranslate2 and sentencepiece from C++ source with a C++ compiler and
# make), and pip to fetch the model (scripts/fetch_whisper_model.sh). Idempotent: installs only
# what is missing. Uses apt-get, so it needs root (or sudo) on Debian.
set -euo pipefail

need=()
command -v cmake >/dev/null 2>&1 || need+=(cmake)
command -v c++ >/dev/null 2>&1 || need+=(g++)
command -v make >/dev/null 2>&1 || need+=(make)
python3 -m pip --version >/dev/null 2>&1 || need+=(python3-pip)
[ ${#need[@]} -eq 0 ] && exit 0

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "install_whisper_deps: installing ${need[*]}" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
