#!/usr/bin/env bash
# test-emu.sh — build and run the CUDA emulator self-tests (native/emu, test/emu).
#
# Flavours, each its own build of native/emu + test/emu/sample_kernels.cu + emu_test.cc:
#   plain     -O2, hand-written x86-64 fiber switch: the whole suite must pass
#   ucontext  -O2 -DATENTO_EMU_UCONTEXT (the portable fallback): the whole suite must pass
#   tsan      -fsanitize=thread: the suite must be race-free; `emu_test race` (a missing
#             barrier that never changes the output), `race-gemm` (a GEMM missing its
#             second barrier) and `race-warp` (a warp tree sum missing __syncwarp) must be
#             reported; `race-fixed` must not
#   asan      -fsanitize=address: the suite must be clean, `emu_test oob` (a read one float
#             past a cudaMalloc buffer) must be reported
#   nvcc      test/emu/sample_kernels.cu compiles as real CUDA for sm_80 and sm_90 with
#             warnings and spills as errors (skipped when nvcc is not found)
#   kernels   every real kernel family of native/cuda against native/cpu, in normal, TSan and
#             ASan builds (scripts/test-kernels-emu.sh, test/emu/kernels_check.cc)
#
# Usage: scripts/test-emu.sh [flavour...]    (default: all)
# Env:   BUILD_DIR (default build/test-emu), CXX (g++), NVCC (nvcc on PATH, else
#        /usr/local/cuda/bin/nvcc), JOBS (parallel compiles, default 2).
# Objects are rebuilt only when a source or header is newer. Exits non-zero on any failure.
set -u
cd "$(dirname "$0")/.."

BUILD=${BUILD_DIR:-build/test-emu}
CXX=${CXX:-g++}
JOBS=${JOBS:-2}
NVCC=${NVCC:-$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)}
FLAVOURS=("$@")
[ ${#FLAVOURS[@]} -eq 0 ] && FLAVOURS=(plain ucontext tsan asan nvcc kernels)

WARN="-Wall -Wextra -Werror"
HEADERS=$(ls native/emu/*.h native/cuda/launch.cuh test/emu/*.h)
RESULTS=()
FAILED=0

pass() { RESULTS+=("PASS  $1"); }
fail() { RESULTS+=("FAIL  $1"); FAILED=1; }

flags_for() {
  case $1 in
    plain) echo "-O2 -g -pthread" ;;
    ucontext) echo "-O2 -g -pthread -DATENTO_EMU_UCONTEXT" ;;
    tsan) echo "-O1 -g -pthread -fsanitize=thread -DATENTO_EMU_TSAN" ;;
    asan) echo "-O1 -g -pthread -fsanitize=address -fno-omit-frame-pointer" ;;
  esac
}

# compile OUT SRC FLAGS...: skipped when OUT is newer than SRC, every header and this script.
compile() {
  local out=$1 src=$2
  shift 2
  if [ -f "$out" ] && [ -z "$(find "$src" $HEADERS "$0" -newer "$out" 2>/dev/null)" ]; then
    return 0
  fi
  "$CXX" -std=c++17 $WARN "$@" -c "$src" -o "$out"
}

# build FLAVOUR: objects in parallel (at most $JOBS at a time), then link emu_test.
build() {
  local f=$1 dir=$BUILD/$1 flags
  flags=$(flags_for "$f")
  mkdir -p "$dir"
  local jobs=() rc=0
  local units=(
    "emu.o native/emu/emu.cc"
    "runtime.o native/emu/runtime.cc"
    "fiber.o native/emu/fiber.cc"
    "sample_kernels.o test/emu/sample_kernels.cu -x c++ -DATENTO_CUDA_EMULATE -Wno-unknown-pragmas"
    "emu_test.o test/emu/emu_test.cc"
  )
  for unit in "${units[@]}"; do
    set -- $unit
    local out=$1 src=$2
    shift 2
    # shellcheck disable=SC2086
    compile "$dir/$out" "$src" $flags "$@" &
    jobs+=($!)
    if [ ${#jobs[@]} -ge "$JOBS" ]; then
      wait "${jobs[0]}" || rc=1
      jobs=("${jobs[@]:1}")
    fi
  done
  for j in "${jobs[@]}"; do wait "$j" || rc=1; done
  [ $rc -eq 0 ] || return 1
  # shellcheck disable=SC2086
  "$CXX" $flags "$dir"/emu.o "$dir"/runtime.o "$dir"/fiber.o "$dir"/sample_kernels.o \
    "$dir"/emu_test.o -o "$dir/emu_test"
}

# run NAME EXPECT GREP CMD...: EXPECT is "ok" (exit 0, and GREP must not appear in the output)
# or "report" (non-zero exit, and GREP must appear). Output goes to $BUILD/NAME.log.
run() {
  local name=$1 expect=$2 pattern=$3
  shift 3
  local log=$BUILD/${name// /_}.log start end rc
  start=$(date +%s.%N)
  "$@" >"$log" 2>&1
  rc=$?
  # Older TSan runtimes cannot cope with high-entropy ASLR; retry without randomisation.
  if grep -q "unexpected memory mapping" "$log" && command -v setarch >/dev/null; then
    setarch "$(uname -m)" -R "$@" >"$log" 2>&1
    rc=$?
  fi
  end=$(date +%s.%N)
  local secs
  secs=$(awk "BEGIN { printf \"%.1f\", $end - $start }")
  if [ "$expect" = ok ]; then
    if [ $rc -eq 0 ] && { [ -z "$pattern" ] || ! grep -q "$pattern" "$log"; }; then
      pass "$name (${secs} s)"
    else
      fail "$name (exit $rc; see $log)"
      tail -n 30 "$log"
    fi
  else
    if [ $rc -ne 0 ] && grep -q "$pattern" "$log"; then
      pass "$name: reported \"$pattern\" (${secs} s)"
    else
      fail "$name: expected \"$pattern\" and a non-zero exit (exit $rc; see $log)"
      tail -n 30 "$log"
    fi
  fi
}

for f in "${FLAVOURS[@]}"; do
  case $f in
    plain | ucontext)
      if build "$f"; then
        run "$f suite" ok "" "$BUILD/$f/emu_test"
        [ "$f" = plain ] && grep -E "^  ok   correct kernels, forward" "$BUILD/plain_suite.log"
      else
        fail "$f build"
      fi
      ;;
    tsan)
      if build tsan; then
        export TSAN_OPTIONS="halt_on_error=0 exitcode=66 ${TSAN_OPTIONS:-}"
        run "tsan suite" ok "ThreadSanitizer" "$BUILD/tsan/emu_test"
        run "tsan benign missing barrier" report "WARNING: ThreadSanitizer: data race" "$BUILD/tsan/emu_test" race
        run "tsan barrier present" ok "ThreadSanitizer" "$BUILD/tsan/emu_test" race-fixed
        run "tsan GEMM missing barrier" report "WARNING: ThreadSanitizer: data race" "$BUILD/tsan/emu_test" race-gemm
        run "tsan warp sum missing __syncwarp" report "WARNING: ThreadSanitizer: data race" "$BUILD/tsan/emu_test" race-warp
      else
        fail "tsan build"
      fi
      ;;
    asan)
      if build asan; then
        run "asan suite" ok "AddressSanitizer" "$BUILD/asan/emu_test"
        run "asan out-of-bounds read" report "AddressSanitizer: heap-buffer-overflow" "$BUILD/asan/emu_test" oob
      else
        fail "asan build"
      fi
      ;;
    nvcc)
      if [ -x "$NVCC" ] || command -v "$NVCC" >/dev/null; then
        mkdir -p "$BUILD/nvcc"
        for arch in sm_80 sm_90; do
          if "$NVCC" -std=c++17 -arch=$arch -Xptxas -warn-spills -Werror all-warnings \
            -Xcompiler -Wall,-Wextra,-Werror -c test/emu/sample_kernels.cu \
            -o "$BUILD/nvcc/sample_kernels_$arch.o" >"$BUILD/nvcc_$arch.log" 2>&1; then
            pass "nvcc $arch: test/emu/sample_kernels.cu compiles as CUDA"
          else
            fail "nvcc $arch (see $BUILD/nvcc_$arch.log)"
            tail -n 30 "$BUILD/nvcc_$arch.log"
          fi
        done
      else
        RESULTS+=("SKIP  nvcc: not found")
      fi
      ;;
    kernels)
      if BUILD_DIR="$BUILD/kernels" JOBS="$JOBS" scripts/test-kernels-emu.sh; then
        pass "kernels: every CUDA kernel family, normal/tsan/asan (scripts/test-kernels-emu.sh)"
      else
        fail "kernels: scripts/test-kernels-emu.sh (see its summary above)"
      fi
      ;;
    *) fail "unknown flavour $f" ;;
  esac
done

echo
echo "CUDA emulator self-tests:"
printf '  %s\n' "${RESULTS[@]}"
exit $FAILED
