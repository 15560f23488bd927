#!/usr/bin/env bash
# ResNet-20/56 training throughput (batch 64, 1x28x28, 10 classes) of the browser build beside
# TensorFlow.js in the same headless Chromium, one Web Worker each (web/bench.mjs), and beside
# our native build on one thread with AVX2 (`resnet-lab bench`). Prints a table and, last, the
# worst ratios vs TF.js and vs native. Serves target/web as web/build.sh left it.
# Environment: NETS ("20 56"), ROUNDS (2), and the step counts that web/bench.mjs describes.
set -euo pipefail
cd "$(dirname "$0")/.."
die() { echo "web/bench.sh: $*" >&2; exit 1; }

[ -f target/web/resnet_lab_bg.wasm ] || die "no browser build in target/web: run web/build.sh first."
[ -x "${CHROMIUM:-/usr/bin/chromium}" ] || die "no Chromium at ${CHROMIUM:-/usr/bin/chromium} (apt-get install chromium, or set CHROMIUM)."
command -v node >/dev/null || die "needs Node.js to drive Chromium."
if [ ! -d web/node_modules/@tensorflow/tfjs-backend-wasm ] || [ ! -d web/node_modules/playwright-core ]; then
    (cd web && npm install --no-audit --no-fund >&2) || die "npm install in web/ failed."
fi
export NETS=${NETS:-20 56} ROUNDS=${ROUNDS:-2}

# Native: the best of ROUNDS runs per net (its own default warm-up and timed steps).
echo "web/bench.sh: cargo build --release, then native resnet-{${NETS// /,}} on one thread (avx2)" >&2
cargo build --release --quiet || die "cargo build --release failed."
NATIVE=""
for depth in $NETS; do
    best=0
    for _ in $(seq "$ROUNDS"); do
        out=$(RESNET_LAB_SIMD=avx2 target/release/resnet-lab bench --arch resnet --depth "$depth" \
            --batch 64 --size 28 --threads 1 --simd avx2) || die "resnet-lab bench --depth $depth failed."
        case $out in *simd=avx2*) ;; *) die "the native bench did not run the avx2 path: $out" ;; esac
        imgs=$(sed -n 's/.*img\/s=\([0-9.]*\).*/\1/p' <<<"$out")
        best=$(awk -v a="$best" -v b="$imgs" 'BEGIN { print (b > a ? b : a) }')
    done
    echo "  native resnet-$depth: $best img/s" >&2
    NATIVE+="$depth=$best "
done

echo "web/bench.sh: the browser (TF.js takes minutes per step on its slow backends)" >&2
NATIVE=$NATIVE node web/bench.mjs
