#!/usr/bin/env bash
# The image library's share of a request, next to the original Python way of doing the
# same steps: decode, letterbox to 640, tensor (detect); longest side 1024 + normalise
# (segment); JPEG q85 and PNG encodes; Canny + dilate. Rounds alternate ours / reference;
# each side's best median per step is kept.
#   bench/image.sh [ITERS] [ROUNDS]      (ARTISTRY_SHARED: the shared folder)
# The reference needs python3-pil, python3-numpy and python3-opencv (not product
# dependencies); without them only our figures are printed.
set -euo pipefail
cd "$(dirname "$0")/.."
iters=${1:-30}
rounds=${2:-2}
build=${BUILD:-build}
export ARTISTRY_SHARED=${ARTISTRY_SHARED:-$(pwd)/../shared}
ninja -C "$build" bench/bench_image >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
have_ref=1
/usr/bin/python3 -c 'import numpy, PIL' 2>/dev/null || have_ref=0
for r in $(seq "$rounds"); do
    "$build/bench/bench_image" --iters "$iters" >>"$work/ours"
    if [ $have_ref = 1 ]; then /usr/bin/python3 bench/image_ref.py "$iters" >>"$work/ref"; fi
done
[ -f "$work/ref" ] || : >"$work/ref"
echo "# $(nproc) CPUs, $iters iterations x $rounds rounds; medians in ms (best round)"
awk -F'\t' '
    FNR == NR { if (!($1 in ref) || $2 < ref[$1]) ref[$1] = $2; next }
    { if (!($1 in ours)) order[n++] = $1; if (!($1 in ours) || $2 < ours[$1]) ours[$1] = $2 }
    END {
        printf "%-48s %10s %10s %8s\n", "step:photo", "ours", "reference", "ratio"
        for (i = 0; i < n; i++) {
            k = order[i]
            if (k in ref)
                printf "%-48s %10.2f %10.2f %8.2f\n", k, ours[k], ref[k], ours[k] / ref[k]
            else
                printf "%-48s %10.2f %10s %8s\n", k, ours[k], "-", "-"
        }
    }' "$work/ref" "$work/ours"
