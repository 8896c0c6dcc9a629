#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz with clang, ASan and UBSan in build-fuzz/ (only the
# sources they need, not all of sonde), replays each fuzzer's seed corpus, then fuzzes each for
# a while, two at a time. A crash, a sanitizer report or a leak fails the script; the input is
# kept in build-fuzz/artifacts/<fuzzer>/.
#
#   scripts/fuzz.sh                     what CI runs: replay, then 20 s of fuzzing per fuzzer
#   scripts/fuzz.sh --time 300          five minutes each (a longer hunt)
#   scripts/fuzz.sh --time 0            replay the corpora only
#   scripts/fuzz.sh --jobs 1 dns_message   one fuzzer, one at a time
#
# New inputs that grow coverage go to build-fuzz/corpus/<fuzzer>/, not into the repo; copy the
# interesting ones (and every crash, once fixed) into tests/fuzz/corpus/<fuzzer>/.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=20
jobs=2
selected=()
while (($#)); do
    case $1 in
        --time) seconds=$2; shift 2 ;;
        --jobs) jobs=$2; shift 2 ;;
        -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
        -*) echo "fuzz.sh: unknown option $1" >&2; exit 2 ;;
        *) selected+=("$1"); shift ;;
    esac
done
if ((${#selected[@]} == 0)); then
    for dir in tests/fuzz/corpus/*/; do
        selected+=("$(basename "$dir")")
    done
fi

scripts/install-deps.sh --test
build=build-fuzz
# Debug keeps assert() on; cmake/Fuzz.cmake sets -O1 for speed.
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Debug -DSONDE_FUZZ=ON \
    -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14 >/dev/null
targets=()
for name in "${selected[@]}"; do
    targets+=("${name}_fuzzer")
done
cmake --build "$build" -j "$(nproc)" --target "${targets[@]}"

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:allocator_may_return_null=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
mkdir -p "$build/logs"

# Replays the seeds, then fuzzes; prints one line per fuzzer and returns its status.
run_one() {
    local name=$1 seeds=tests/fuzz/corpus/$1 work=$build/corpus/$1 artifacts=$build/artifacts/$1/
    local log=$build/logs/$name.log
    mkdir -p "$work" "$artifacts"
    # -timeout: an input that takes more than 10 s is a hang and fails the run.
    local common=(-timeout=10 -rss_limit_mb=2048 -artifact_prefix="$artifacts" -print_final_stats=1)
    if ! "$build/${name}_fuzzer" "${common[@]}" -runs=0 "$seeds" >"$log" 2>&1; then
        echo "fuzz: $name FAILED replaying its corpus ($log):"
        tail -n 40 "$log"
        return 1
    fi
    if ((seconds > 0)); then
        # The first corpus directory receives new inputs: the scratch one, not the repo's.
        if ! "$build/${name}_fuzzer" "${common[@]}" -max_total_time="$seconds" \
            "$work" "$seeds" >>"$log" 2>&1; then
            echo "fuzz: $name FAILED ($log; inputs in $artifacts):"
            tail -n 60 "$log"
            return 1
        fi
    fi
    local runs
    runs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | tail -n 1 | grep -o '[0-9]*$')
    echo "fuzz: $name ok: $(find "$seeds" -type f | wc -l) seeds replayed, ${runs:-0} runs" \
        "in ${seconds} s, $(find "$work" -type f | wc -l) inputs in $work"
}

rm -f "$build"/logs/*.failed
for name in "${selected[@]}"; do
    while (($(jobs -rp | wc -l) >= jobs)); do
        wait -n || true
    done
    { run_one "$name" || touch "$build/logs/$name.failed"; } &
done
wait
if compgen -G "$build/logs/*.failed" >/dev/null; then
    exit 1
fi
