#!/usr/bin/env bash
# Installs what building and testing Artistry needs on Debian 12, and nothing that is
# already there: the Debian packages in deploy/packages.txt and, with --test, the npm
# packages used only as test references (tests/reference/package.json, into .cache/).
# Idempotent; takes well under a second when nothing is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=0
for a in "$@"; do
    case "$a" in
    --test) want_test=1 ;;
    -h | --help)
        sed -n '2,5p' "$0"
        exit 0
        ;;
    *)
        echo "install-deps: unknown option $a" >&2
        exit 2
        ;;
    esac
done

sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi

mapfile -t pkgs < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' deploy/packages.txt)
missing=()
for p in "${pkgs[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    [ "$status" = "install ok installed" ] || missing+=("$p")
done
if [ $want_test -eq 1 ] && ! command -v npm >/dev/null; then missing+=(nodejs npm); fi
if [ ${#missing[@]} -gt 0 ]; then
    echo "install-deps: installing ${missing[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" >/dev/null
fi

if [ $want_test -eq 1 ] && [ -f tests/reference/package.json ]; then
    ref=.cache/reference
    stamp=$ref/.installed
    if [ ! -f "$stamp" ] || ! cmp -s tests/reference/package.json "$stamp"; then
        echo "install-deps: installing npm test references into $ref"
        mkdir -p "$ref"
        cp tests/reference/package.json "$ref/package.json"
        (cd "$ref" && npm install --ignore-scripts --no-audit --no-fund --loglevel=error)
        cp tests/reference/package.json "$stamp"
    fi
fi
