#!/usr/bin/env bash
# One command for a machine with an NVIDIA GPU (issue 5): builds sweep-kernels with the `cuda`
# feature, runs the GPU tests (the CPU backend is their oracle) and the GPU benchmark, and prints
# a short table. A test that finds no GPU prints "SKIPPED: ..." and is reported as SKIPPED here,
# never as passed.
#
#   scripts/gpu-check.sh [--quick] [--no-bench] [--gpu-only] | --prepare
#     --quick     benchmark at a tenth of the sizes (a few seconds instead of a minute or two)
#     --no-bench  tests only
#     --gpu-only  benchmark without the CPU baselines
#     --prepare   on a machine WITH NVRTC (no GPU needed): compile every kernel for sm_90 into
#                 .cubin/ and stop. A GPU machine without NVRTC then loads those images (the
#                 script points THERMOSWEEP_CUBIN_DIR at .cubin/ when it exists; names carry a
#                 hash of source and options, so stale images are ignored, never loaded).
#
# Needs: the NVIDIA driver (libcuda) and NVRTC 12.x. NVRTC is found on LD_LIBRARY_PATH, at the
# path in THERMOSWEEP_NVRTC, or in the `nvidia-cuda-nvrtc-cu12` wheel of python3 (installed here
# if missing and pip can reach an index). NVRTC must not be newer than the driver's CUDA version
# for PTX; we compile CUBIN for the device's own sm_XX, which any driver of that major loads.
# Exit status: 0 when every test passed or was skipped, 1 when one failed or the build failed.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

quick=""; bench=1; gpu_only=""; prepare=0
for a in "$@"; do
    case "$a" in
        --prepare) prepare=1 ;;
        --quick) quick="--quick" ;;
        --no-bench) bench=0 ;;
        --gpu-only) gpu_only="--gpu-only" ;;
        *) echo "unknown option $a (see the header of $0)"; exit 2 ;;
    esac
done
export CARGO_TERM_COLOR=never
if [ -z "${THERMOSWEEP_CUBIN_DIR:-}" ] && { [ -d .cubin ] || [ $prepare = 1 ]; }; then
    export THERMOSWEEP_CUBIN_DIR="$PWD/.cubin"
fi
if [ $prepare = 1 ]; then
    echo "== compiling kernels for sm_90 into $THERMOSWEEP_CUBIN_DIR"
    cargo test -q -p sweep-kernels --features cuda --test cuda_nvrtc -- --nocapture every_kernel \
        && ls -l "$THERMOSWEEP_CUBIN_DIR"
    exit $?
fi

echo "== device"
if command -v nvidia-smi >/dev/null; then
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
else
    echo "nvidia-smi not found: the GPU tests will report SKIPPED"
fi
echo "== NVRTC"
if ! python3 -c "import nvidia.cuda_nvrtc" 2>/dev/null && [ -z "${THERMOSWEEP_NVRTC:-}" ]; then
    python3 -m pip install --quiet nvidia-cuda-nvrtc-cu12 2>/dev/null \
        || echo "could not install nvidia-cuda-nvrtc-cu12: NVRTC must come from LD_LIBRARY_PATH"
fi

echo "== build (sweep-kernels, feature cuda)"
if ! cargo build -p sweep-kernels --features cuda --tests; then
    echo "BUILD FAILED"; exit 1
fi

declare -a names results
failed=0
run_test() { # package target test-name
    local out rc
    out=$(cargo test -q -p "$1" --features cuda --test "$2" -- --exact "$3" --nocapture --test-threads=1 2>&1)
    rc=$?
    echo "$out" | grep -E "SKIPPED|GPU|gpu:|agree|equal|compiled|worst|panicked|assert" | sed "s/^/    [$3] /"
    names+=("$2::$3")
    if [ $rc -ne 0 ]; then results+=("FAILED"); failed=1; echo "$out" | tail -30
    elif echo "$out" | grep -q "SKIPPED:"; then results+=("SKIPPED")
    else results+=("passed"); fi
}
for target in cuda_nvrtc cuda_cubin_dir cuda_oracle backends; do
    echo "== tests: $target"
    for t in $(cargo test -q -p sweep-kernels --features cuda --test "$target" -- --list 2>/dev/null | sed -n 's/: test$//p'); do
        run_test sweep-kernels "$target" "$t"
    done
done
echo "== tests: networks on the GPU (sweep-nn cuda_on_cpu, the GPU cases)"
run_test sweep-nn cuda_on_cpu gpu_passes_and_steps_follow_the_cpu

bench_out=""
if [ $bench = 1 ]; then
    echo "== benchmark (cargo bench --bench cuda $quick $gpu_only)"
    bench_out=$(cargo bench -q -p sweep-kernels --features cuda --bench cuda -- $quick $gpu_only 2>&1)
    [ $? -ne 0 ] && { echo "$bench_out" | tail -30; echo "BENCHMARK FAILED"; failed=1; }
    echo "== benchmark (cargo bench -p sweep-nn --features cuda --bench device_step)"
    step_out=$(cargo bench -q -p sweep-nn --features cuda --bench device_step 2>&1)
    [ $? -ne 0 ] && { echo "$step_out" | tail -30; echo "BENCHMARK FAILED"; failed=1; }
    bench_out="$bench_out
$step_out"
fi

echo
echo "== summary"
printf '| %-70s | %-7s |\n' "test" "result"
printf '|%s|%s|\n' "$(printf -- '-%.0s' {1..72})" "---------"
for i in "${!names[@]}"; do printf '| %-70s | %-7s |\n' "${names[$i]}" "${results[$i]}"; done
if [ -n "$bench_out" ]; then
    echo
    echo "$bench_out" | grep -E '^(GPU:|SKIPPED|device|batch|case|\||ConvNet|ResNet|  [0-9]+ points)'
fi
n_skip=$(printf '%s\n' "${results[@]}" | grep -c SKIPPED)
[ "$n_skip" -gt 0 ] && echo "note: $n_skip test(s) SKIPPED (no GPU or no NVRTC): they prove nothing here"
exit $failed
