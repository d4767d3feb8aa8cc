#!/usr/bin/env bash
# test-kernels-emu.sh — build test/emu/kernels_check.cc against the real kernel files and run it:
# every CUDA kernel family of atento (native/cuda/*.cu, compiled as C++ with
# -DATENTO_CUDA_EMULATE, as CMake's EMU flavour does) on the CPU emulator, in four thread orders,
# against the CPU kernels (native/cpu/*.cc). No Node involved. Called by scripts/test-emu.sh.
#
# Flavours, each its own build of native/emu + native/cuda/*.cu + device.cc + kernels_check.cc:
#   normal  -O2: every case in every order, full shapes
#   tsan    -fsanitize=thread (the emulator annotates its fibers): small shapes (TSan makes every
#           fiber switch 20-50x dearer); a missing __syncthreads/__syncwarp is a reported race
#           even when the output is right
#   asan    -fsanitize=address: full shapes; device buffers have exact bounds
# Every flavour runs every case in the orders forward, reverse, shuffle:1 and shuffle:2.
# The CPU reference objects are built once per OpenMP setting and not instrumented: with
# -fopenmp (and oneDNN when /usr/include/oneapi/dnnl/dnnl.h exists) for normal and asan, without
# either for tsan (libgomp is not TSan-instrumented; the OpenMP pragmas are then ignored).
# Each family runs as its own process, so a sanitizer report is pinned to one family.
#
# Usage: scripts/test-kernels-emu.sh [flavour...]    (default: normal tsan asan)
# Env:   BUILD_DIR (default build/test-emu/kernels), CXX (g++; ccache is used when found),
#        JOBS (parallel compiles and family runs, default 2), FAMILIES (default: all).
# Objects are rebuilt only when a source or header is newer. Exits non-zero on any failure.
set -u
cd "$(dirname "$0")/.."

BUILD=${BUILD_DIR:-build/test-emu/kernels}
CXX=${CXX:-g++}
if command -v ccache >/dev/null && [ "${CXX#ccache }" = "$CXX" ]; then CXX="ccache $CXX"; fi
JOBS=${JOBS:-2}
FLAVOURS=("$@")
[ ${#FLAVOURS[@]} -eq 0 ] && FLAVOURS=(normal tsan asan)

WARN="-Wall -Wextra -Werror -Wno-unused-parameter"
HEADERS=$(ls native/*.h native/emu/*.h native/cuda/*.h native/cuda/launch.cuh native/cpu/*.h test/emu/*.h)
CU_SOURCES=$(ls native/cuda/*.cu)
CPU_SOURCES=$(ls native/cpu/*.cc)
ONEDNN=0
[ -f /usr/include/oneapi/dnnl/dnnl.h ] && ONEDNN=1
RESULTS=()
FAILED=0

pass() { RESULTS+=("PASS  $1"); }
fail() { RESULTS+=("FAIL  $1"); FAILED=1; }

flags_for() {
  case $1 in
    normal) echo "-O2 -pthread" ;;  # no -g: its failures are comparisons, not stack traces
    tsan) echo "-O1 -g -pthread -fsanitize=thread -DATENTO_EMU_TSAN" ;;
    asan) echo "-O1 -g -pthread -fsanitize=address -fno-omit-frame-pointer" ;;
  esac
}
# The CPU reference objects a flavour links: omp (OpenMP, oneDNN if present) or seq.
cpu_set_for() { [ "$1" = tsan ] && echo seq || echo omp; }
cpu_flags_for() {
  local f="-O3 -march=native -fno-math-errno"  # as CMake builds them (no -g: not under test)
  if [ "$1" = omp ]; then
    f="$f -fopenmp"
    [ $ONEDNN = 1 ] && f="$f -DATENTO_WITH_ONEDNN"
  else
    # Without OpenMP the kernels' `omp parallel` pragmas are unknown and the variables only
    # their if() clauses use are unused; `omp simd` still applies through -fopenmp-simd.
    f="$f -fopenmp-simd -Wno-unknown-pragmas -Wno-unused-variable -Wno-unused-but-set-variable"
  fi
  echo "$f"
}

# compile OUT SRC FLAGS...: skipped when OUT is newer than SRC, every header and this script.
compile() {
  local out=$1 src=$2
  shift 2
  if [ -f "$out" ] && [ -z "$(find "$src" $HEADERS "$0" -newer "$out" 2>/dev/null)" ]; then
    return 0
  fi
  # shellcheck disable=SC2086
  $CXX -std=c++17 $WARN "$@" -c "$src" -o "$out"
}

# compile_all LIST: each line "OUT SRC FLAGS...", at most $JOBS at a time. Fails if any fails.
compile_all() {
  local jobs=() rc=0 line
  while IFS= read -r line; do
    [ -z "$line" ] && continue
    # shellcheck disable=SC2086
    compile $line &
    jobs+=($!)
    if [ ${#jobs[@]} -ge "$JOBS" ]; then
      wait "${jobs[0]}" || rc=1
      jobs=("${jobs[@]:1}")
    fi
  done <<<"$1"
  for j in "${jobs[@]}"; do wait "$j" || rc=1; done
  return $rc
}

build_cpu() {  # build_cpu SET
  local cset=$1 dir=$BUILD/cpu-$1 flags list="" src
  flags=$(cpu_flags_for "$cset")
  mkdir -p "$dir"
  for src in $CPU_SOURCES; do
    list+="$dir/$(basename "$src" .cc).o $src -I native $flags"$'\n'
  done
  compile_all "$list"
}

build() {  # build FLAVOUR: objects, then link kernels_check
  local f=$1 dir=$BUILD/$1 flags cset list="" src emu
  flags=$(flags_for "$f")
  cset=$(cpu_set_for "$f")
  mkdir -p "$dir"
  emu="-x c++ -DATENTO_CUDA_EMULATE -DATENTO_WITH_CUDA -Wno-unknown-pragmas -I native -I native/cuda"
  for src in native/emu/emu.cc native/emu/runtime.cc native/emu/fiber.cc; do
    list+="$dir/$(basename "$src" .cc).o $src $flags"$'\n'
  done
  for src in $CU_SOURCES; do
    list+="$dir/$(basename "$src" .cu).cu.o $src $flags $emu"$'\n'
  done
  list+="$dir/device.o native/cuda/device.cc $flags $emu -DATENTO_CUDA_ARCHS=\"emulated\""$'\n'
  list+="$dir/kernels_check.o test/emu/kernels_check.cc $flags $emu"$'\n'
  build_cpu "$cset" || return 1
  compile_all "$list" || return 1
  local libs="" cpuflags=""
  if [ "$cset" = omp ]; then
    cpuflags="-fopenmp"
    [ $ONEDNN = 1 ] && libs="-ldnnl"
  fi
  # shellcheck disable=SC2086
  ${CXX#ccache } $flags $cpuflags "$dir"/*.o "$BUILD/cpu-$cset"/*.o $libs -o "$dir/kernels_check"
}

# run_family FLAVOUR FAMILY: one process; PASS needs exit 0 and no sanitizer report in its log.
run_family() {
  local f=$1 fam=$2 log=$BUILD/$1-$2.log bin=$BUILD/$1/kernels_check rc
  "$bin" "$fam" >"$log" 2>&1
  rc=$?
  # Older TSan runtimes cannot cope with high-entropy ASLR; retry without randomisation.
  if grep -q "unexpected memory mapping" "$log" && command -v setarch >/dev/null; then
    setarch "$(uname -m)" -R "$bin" "$fam" >"$log" 2>&1
    rc=$?
  fi
  echo $rc >"$log.rc"
}

for f in "${FLAVOURS[@]}"; do
  case $f in
    normal | tsan | asan) ;;
    *) fail "unknown flavour $f"; continue ;;
  esac
  start=$(date +%s.%N)
  if ! build "$f"; then
    fail "$f build"
    continue
  fi
  built=$(date +%s.%N)
  export TSAN_OPTIONS="halt_on_error=0 exitcode=66 ${TSAN_OPTIONS:-}"
  export ASAN_OPTIONS="detect_leaks=1 ${ASAN_OPTIONS:-}"
  # The CPU references are tiny and families run side by side: one OpenMP thread each.
  export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
  families=${FAMILIES:-$("$BUILD/$f/kernels_check" --list)}
  jobs=()
  for fam in $families; do
    run_family "$f" "$fam" &
    jobs+=($!)
    if [ ${#jobs[@]} -ge "$JOBS" ]; then
      wait "${jobs[0]}"
      jobs=("${jobs[@]:1}")
    fi
  done
  for j in "${jobs[@]}"; do wait "$j"; done
  for fam in $families; do
    log=$BUILD/$f-$fam.log
    rc=$(cat "$log.rc")
    line=$(grep -E "^(PASS|FAIL) " "$log" | head -n 1)
    if [ "$rc" = 0 ] && ! grep -qE "WARNING: ThreadSanitizer|ERROR: AddressSanitizer|ERROR: LeakSanitizer" "$log"; then
      pass "$f  ${line#PASS }"
    else
      why="exit $rc"
      grep -q "WARNING: ThreadSanitizer" "$log" && why="$why, ThreadSanitizer: $(grep -c 'WARNING: ThreadSanitizer' "$log") report(s)"
      grep -q "ERROR: AddressSanitizer" "$log" && why="$why, $(grep -m1 'ERROR: AddressSanitizer' "$log" | sed 's/.*ERROR: //')"
      grep -q "ERROR: LeakSanitizer" "$log" && why="$why, LeakSanitizer"
      fail "$f  $fam ($why; see $log)"
      grep -E "^  FAIL|^         " "$log" | head -n 20
    fi
  done
  end=$(date +%s.%N)
  RESULTS+=("      $f: build $(awk "BEGIN { printf \"%.0f\", $built - $start }") s, run $(awk "BEGIN { printf \"%.0f\", $end - $built }") s")
done

echo
echo "CUDA kernels under the emulator (test/emu/kernels_check.cc):"
printf '  %s\n' "${RESULTS[@]}"
exit $FAILED
