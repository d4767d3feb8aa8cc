// emu.cc — the block scheduler of the CUDA emulator: runs a grid one block at a time, each
// CUDA thread of the block as a fiber, and implements barriers and warp collectives.
//
// A block runs in passes. A pass resumes every runnable thread once, in the configured order
// (forward, reverse or a fresh shuffle); a thread runs until it exits, reaches a barrier or
// enters a warp collective, then switches straight to the next thread of the pass. When no
// thread is runnable, either every thread has exited (the block is done), or all live threads
// wait at one barrier (release them), or the block is stuck: some threads exited or wait at a
// different barrier, or a warp collective waits for a lane that will never come. Stuck blocks
// are reported, never waited on.
//
// Warp collectives: a lane records its operands and yields; the last lane named in the mask
// to arrive computes every lane's result, makes them runnable, and yields too.
//
// ThreadSanitizer: fiber switches carry no ordering, so the only happens-before edges between
// emulated threads are the ones CUDA guarantees: barrier arrival -> barrier release, warp
// collective arrival -> its result, and block/launch boundaries. The scheduler's own
// bookkeeping is exempt from TSan (EMU_INTERNAL) because TSan cannot see that fibers on one OS
// thread never run at the same time.
//
// One launch runs at a time in the process (g_mutex); all state below belongs to it.
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "emu.h"
#include "fiber.h"
#include "internal.h"

#if defined(__SANITIZE_THREAD__) || defined(ATENTO_EMU_TSAN)
#include <sanitizer/tsan_interface.h>
#define EMU_INTERNAL __attribute__((no_sanitize("thread")))
static inline void hb_release(void* addr) { __tsan_release(addr); }
static inline void hb_acquire(void* addr) { __tsan_acquire(addr); }
#else
#define EMU_INTERNAL
static inline void hb_release(void*) {}
static inline void hb_acquire(void*) {}
#endif

namespace atento::emu {
namespace {

using detail::format;

constexpr unsigned kMaxThreads = 1024;
constexpr size_t kMaxDynamicShared = 227 * 1024;
constexpr size_t kDefaultDynamicShared = 48 * 1024;

enum class State : uint8_t { Runnable, AtBarrier, AtWarp, Done, Failed };

// One emulated CUDA thread of the running block.
struct Thread {
  Fiber fiber;
  uint3 idx{};
  unsigned warp = 0, lane = 0;
  State state = State::Done;
  Site site{};          // the barrier or collective it waits at
  BarrierOp bar_op{};   // barrier operands
  int pred = 0;
  WarpOp op{};          // warp collective operands
  unsigned mask = 0;
  uint64_t value = 0;
  int arg = 0, width = 32;
  void* data = nullptr;
  WarpFn fn = nullptr;
  uint64_t result = 0;  // of the barrier or collective, set before the thread resumes
  char hb_arrived = 0;       // TSan: released when it arrives at a warp collective
  char* hb_done = nullptr;   // TSan: acquired when its collective has completed
  char name[48] = {};        // for TSan reports
};

struct Warp {
  unsigned exists = 0;   // lanes present in this block (the last warp may be partial)
  unsigned waiting = 0;  // lanes suspended in a warp collective
  unsigned completed = 0;  // collectives completed, to pick the next hb_done slot
  char hb_done[64] = {};   // TSan: one sync object per completion, reused round-robin
};

struct Run {  // the launch in progress
  const LaunchInfo* info = nullptr;
  unsigned nthreads = 0;
  unsigned runnable = 0;    // threads of the current block in State::Runnable
  unsigned at_barrier = 0;  // ... in State::AtBarrier
  unsigned done = 0;        // ... that exited
  unsigned cursor = 0;      // position in g_order of the current pass
  unsigned barriers = 0;    // barriers released so far (its parity picks g_hb_barrier)
  void* smem = nullptr;
  uint64_t rng = 0;
  bool failed = false;
  std::string message;
};

std::mutex g_mutex;
thread_local bool t_launching = false;  // a kernel that launches a kernel is an error
Fiber g_main;                           // the scheduler: the OS thread that called launch
Thread* g_threads = nullptr;            // [kMaxThreads], fibers created as needed
unsigned g_fibers = 0;
Warp g_warps[kMaxThreads / 32];
Thread* g_current = nullptr;  // the emulated thread now running, or nullptr
Run g_run;
Counters g_counters;
// Thread order of the current pass. A fixed array, not a std::vector: the vector's own
// (instrumented) members, called from the scheduler while an emulated thread runs, made TSan
// report races with the next launch's resize of it.
unsigned g_order[kMaxThreads];
// TSan sync objects. Two for barriers, used alternately: a thread that has passed barrier k
// may reach barrier k+1 before a slower thread resumes from barrier k, and what it did in
// between must not leak into that thread's acquire.
char g_hb_block_start, g_hb_block_end, g_hb_barrier[2];

// ---- small helpers -----------------------------------------------------------------------

uint64_t splitmix64(uint64_t& s) {
  uint64_t z = (s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

EMU_INTERNAL std::string where(const Site& s) {
  return format("%s (%s:%d)", s.what, s.file, s.line);
}

EMU_INTERNAL bool same_site(const Site& a, const Site& b) {
  return a.line == b.line && (a.file == b.file || std::strcmp(a.file, b.file) == 0) &&
         (a.what == b.what || std::strcmp(a.what, b.what) == 0);
}

EMU_INTERNAL std::string block_name() {
  return format("kernel '%s' block (%u,%u,%u)", g_run.info->name, blockIdx.x, blockIdx.y,
                blockIdx.z);
}

EMU_INTERNAL std::string thread_name(const Thread& t) {
  return format("thread (%u,%u,%u)", t.idx.x, t.idx.y, t.idx.z);
}

// "0..31, 64, 96..127" for the linear indices of the threads for which pick(t) holds.
template <class Pick>
EMU_INTERNAL std::string thread_ranges(Pick pick) {
  std::string out;
  int ranges = 0;
  for (unsigned i = 0; i < g_run.nthreads;) {
    if (!pick(g_threads[i])) { ++i; continue; }
    unsigned j = i;
    while (j + 1 < g_run.nthreads && pick(g_threads[j + 1])) ++j;
    if (++ranges > 6) { out += ", ..."; break; }
    if (!out.empty()) out += ", ";
    out += i == j ? format("%u", i) : format("%u..%u", i, j);
    i = j + 1;
  }
  return out;
}

// ---- the emulated thread's side ----------------------------------------------------------

// The next runnable thread of the current pass, or nullptr at the end of the pass.
EMU_INTERNAL Thread* next_in_pass() {
  while (g_run.cursor < g_run.nthreads) {
    Thread& t = g_threads[g_order[g_run.cursor++]];
    if (t.state == State::Runnable) return &t;
  }
  return nullptr;
}

// Make `t` the running emulated thread (the caller then switches to its fiber).
EMU_INTERNAL void make_current(Thread& t) {
  g_current = &t;
  threadIdx = t.idx;
  ++g_counters.switches;
}

// Suspend the running emulated thread. Control passes straight to the next runnable thread
// of the pass (half the switches of going through the scheduler), or to the scheduler at the
// end of the pass or after a failure.
EMU_INTERNAL void yield() {
  Thread& self = *g_current;
  // Everything this thread did so far happens before the scheduler's next look at memory
  // (the end of the block, or its abort). No emulated thread acquires this.
  hb_release(&g_hb_block_end);
  Thread* next = g_run.failed ? nullptr : next_in_pass();
  if (next) {
    make_current(*next);
    fiber_switch(self.fiber, next->fiber);
  } else {
    fiber_switch(self.fiber, g_main);
  }
}

// The running thread stops being runnable (it waits, exits or failed).
EMU_INTERNAL void leave_runnable(Thread& t, State s) {
  t.state = s;
  --g_run.runnable;
}

// Stop the kernel from inside an emulated thread: never returns. printf-style, so that no
// std::string temporaries are left alive on the abandoned fiber's stack.
[[noreturn]] __attribute__((format(printf, 2, 3))) EMU_INTERNAL void fail_here(
    const Site& site, const char* fmt, ...) {
  Thread& t = *g_current;
  {
    char what[512];
    va_list args;
    va_start(args, fmt);
    std::vsnprintf(what, sizeof what, fmt, args);
    va_end(args);
    g_run.message = format("%s, %s (lane %u of warp %u): %s: %s", block_name().c_str(),
                           thread_name(t).c_str(), t.lane, t.warp, where(site).c_str(), what);
  }
  g_run.failed = true;
  leave_runnable(t, State::Failed);
  for (;;) yield();  // the scheduler abandons this fiber and restarts it later
}

EMU_INTERNAL void fail_on_host(const Site& site) {
  detail::record_error(cudaErrorInvalidValue,
                       format("%s called outside a kernel", where(site).c_str()));
}

// Every fiber runs this loop: one iteration per block it takes part in.
EMU_INTERNAL void thread_main(void* arg) {
  Thread* self = static_cast<Thread*>(arg);
  for (;;) {
    hb_acquire(&g_hb_block_start);
    g_run.info->body(g_run.info->ctx);
    leave_runnable(*self, State::Done);
    ++g_run.done;
    yield();
  }
}

// Source lane of a shuffle, or `lane` itself when it reads outside its width-segment.
EMU_INTERNAL int shuffle_source(WarpOp op, int lane, int arg, int width) {
  const int seg = lane & ~(width - 1);
  int src = lane;
  switch (op) {
    case WarpOp::Shfl: return seg + (arg & (width - 1));
    case WarpOp::ShflUp: src = lane - arg; return src < seg ? lane : src;
    case WarpOp::ShflDown: src = lane + arg; return src >= seg + width ? lane : src;
    case WarpOp::ShflXor: src = lane ^ arg; return (src < 0 || src >= seg + width) ? lane : src;
    default: return lane;
  }
}

// All lanes of `mask` have arrived (as `t` just did): check they agree, compute the results.
EMU_INTERNAL void complete_collective(Thread& t, Warp& w) {
  const unsigned mask = t.mask, base = t.warp * 32;
  for (unsigned l = 0; l < 32; ++l) {
    const Thread& o = g_threads[base + l];
    if ((mask >> l & 1u) && o.mask != mask) return;  // lane l is in another group: wait
  }
  uint64_t ballot = 0;
  for (unsigned l = 0; l < 32; ++l) {
    const Thread& o = g_threads[base + l];
    if (!(mask >> l & 1u)) continue;
    if (o.op != t.op || o.fn != t.fn)
      fail_here(t.site, "lanes of the warp meet at different operations: lane %u is at %s (%s:%d)",
                l, o.site.what, o.site.file, o.site.line);
    if (o.value) ballot |= 1ull << l;
  }
  // Happens-before: every lane's arrival -> this lane -> every lane's resumption. A fresh
  // sync object per completion, so lanes that resume late gain nothing from later work.
  for (unsigned l = 0; l < 32; ++l)
    if (mask >> l & 1u) hb_acquire(&g_threads[base + l].hb_arrived);
  if (t.op == WarpOp::Custom) {
    void* data[32] = {};
    for (unsigned l = 0; l < 32; ++l)
      if (mask >> l & 1u) data[l] = g_threads[base + l].data;
    t.fn(data, mask);
  }
  char* done = &w.hb_done[w.completed++ % sizeof w.hb_done];
  hb_release(done);
  for (unsigned l = 0; l < 32; ++l) {
    if (!(mask >> l & 1u)) continue;
    Thread& o = g_threads[base + l];
    switch (o.op) {
      case WarpOp::Shfl:
      case WarpOp::ShflUp:
      case WarpOp::ShflDown:
      case WarpOp::ShflXor: {
        const int src = shuffle_source(o.op, static_cast<int>(l), o.arg, o.width);
        // Reading a lane outside the mask is undefined on a GPU: give a poison value
        // (NaN as float, -1 as int) so that a result that depends on it shows.
        o.result = (mask >> src & 1u) ? g_threads[base + src].value : ~0ull;
        break;
      }
      case WarpOp::Ballot: o.result = ballot; break;
      case WarpOp::Any: o.result = ballot != 0; break;
      case WarpOp::All: o.result = ballot == mask; break;
      default: o.result = 0; break;
    }
    o.hb_done = done;
    o.state = State::Runnable;
  }
  g_run.runnable += __builtin_popcount(mask);
  w.waiting &= ~mask;
  ++g_counters.warp_ops;
}

EMU_INTERNAL void arrive_at_warp_op(Thread& t, const Site& site, WarpOp op, unsigned mask) {
  Warp& w = g_warps[t.warp];
  const unsigned self = 1u << t.lane;
  if (!(mask & self))
    fail_here(site, "the mask 0x%08x leaves out the calling lane", mask);
  if (mask & ~w.exists)
    fail_here(site,
              "the mask 0x%08x names lanes that do not exist (this warp has lanes 0x%08x; the "
              "block has %u threads)",
              mask, w.exists, g_run.nthreads);
  const bool shuffle = op == WarpOp::Shfl || op == WarpOp::ShflUp || op == WarpOp::ShflDown ||
                       op == WarpOp::ShflXor;
  if (shuffle && (t.width < 1 || t.width > 32 || (t.width & (t.width - 1))))
    fail_here(site, "width %d is not a power of 2 from 1 to 32", t.width);
  t.op = op;
  t.mask = mask;
  t.site = site;
  leave_runnable(t, State::AtWarp);
  w.waiting |= self;
  hb_release(&t.hb_arrived);
  if ((w.waiting & mask) == mask) complete_collective(t, w);
  yield();
  hb_acquire(t.hb_done);
}

// ---- the scheduler's side ----------------------------------------------------------------

// Run one pass: returns when every thread of the pass has run until it yielded.
EMU_INTERNAL void run_pass() {
  g_run.cursor = 0;
  Thread* first = next_in_pass();
  if (!first) return;
  make_current(*first);
  fiber_switch(g_main, first->fiber);
  g_current = nullptr;
}

EMU_INTERNAL void fail_block(const std::string& what) {
  g_run.failed = true;
  g_run.message = block_name() + ": " + what;
}

// What keeps lane `o` from joining a collective.
EMU_INTERNAL std::string lane_state(const Thread& o) {
  switch (o.state) {
    case State::Done: return "exited";
    case State::AtBarrier: return "waits at " + where(o.site);
    case State::AtWarp:
      return format("waits at %s with mask 0x%08x", where(o.site).c_str(), o.mask);
    default: return "is still running";
  }
}

// No thread can run. Release the barrier all live threads wait at, or report why not.
EMU_INTERNAL bool release_barrier() {
  const unsigned n = g_run.nthreads;
  if (g_run.at_barrier + g_run.done < n) {  // some wait in a warp collective that cannot finish
    for (unsigned i = 0; i < n; ++i) {
      const Thread& t = g_threads[i];
      if (t.state != State::AtWarp) continue;
      for (unsigned l = 0; l < 32; ++l) {
        const Thread& o = g_threads[t.warp * 32 + l];
        if (!(t.mask >> l & 1u) || (o.state == State::AtWarp && o.mask == t.mask)) continue;
        fail_block(format("%s (lane %u of warp %u) waits at %s with mask 0x%08x, but lane %u (%s) "
                          "never arrives: it %s",
                          thread_name(t).c_str(), t.lane, t.warp, where(t.site).c_str(), t.mask,
                          l, thread_name(o).c_str(), lane_state(o).c_str()));
        return false;
      }
      fail_block(format("warp %u is stuck in %s", t.warp, where(t.site).c_str()));
      return false;
    }
  }
  unsigned f = 0;  // live threads all wait at barriers now: find the first one
  while (g_threads[f].state != State::AtBarrier) ++f;
  const Thread& first = g_threads[f];
  if (g_run.done > 0) {
    const std::string exited = thread_ranges([](const Thread& t) { return t.state == State::Done; });
    fail_block(format("%s is reached by only %u of %u threads; threads %s exited without reaching "
                      "it (linear thread index, x fastest)",
                      where(first.site).c_str(), n - g_run.done, n, exited.c_str()));
    return false;
  }
  int count = 0;
  for (unsigned i = 0; i < n; ++i) {
    const Thread& t = g_threads[i];
    count += t.pred != 0;
    if (same_site(t.site, first.site)) continue;
    fail_block(format(
        "threads wait at different barriers: threads %s at %s, threads %s at %s",
        thread_ranges([&](const Thread& o) { return same_site(o.site, first.site); }).c_str(),
        where(first.site).c_str(),
        thread_ranges([&](const Thread& o) { return same_site(o.site, t.site); }).c_str(),
        where(t.site).c_str()));
    return false;
  }
  int result = 0;
  switch (first.bar_op) {
    case BarrierOp::Count: result = count; break;
    case BarrierOp::And: result = count == static_cast<int>(n); break;
    case BarrierOp::Or: result = count > 0; break;
    default: break;
  }
  for (unsigned i = 0; i < n; ++i) {
    g_threads[i].result = static_cast<uint64_t>(result);
    g_threads[i].state = State::Runnable;
  }
  g_run.runnable = n;
  g_run.at_barrier = 0;
  ++g_run.barriers;
  ++g_counters.barriers;
  return true;
}

// Pick the order of the next pass over the block's threads.
EMU_INTERNAL void order_pass(Order order, bool first_pass) {
  const unsigned n = g_run.nthreads;
  if (order == Order::Shuffle) {
    for (unsigned i = n - 1; i > 0; --i) {
      const unsigned j = static_cast<unsigned>(splitmix64(g_run.rng) % (i + 1));
      std::swap(g_order[i], g_order[j]);
    }
  } else if (first_pass) {
    for (unsigned i = 0; i < n; ++i) g_order[i] = order == Order::Forward ? i : n - 1 - i;
  }
}

EMU_INTERNAL bool run_block(uint3 block, Order order) {
  blockIdx = block;
  const unsigned n = g_run.nthreads;
  g_run.done = 0;
  g_run.at_barrier = 0;
  g_run.runnable = n;
  for (unsigned i = 0; i < n; ++i) g_threads[i].state = State::Runnable;
  for (Warp& w : g_warps) w.waiting = 0;
  if (g_run.smem && detail::config().poison)
    std::memset(g_run.smem, 0xff, g_run.info->smem_bytes);
  hb_release(&g_hb_block_start);
  bool first_pass = true;
  while (!g_run.failed) {
    if (g_run.runnable == 0) {
      if (g_run.done == n) break;
      if (!release_barrier()) break;
    }
    order_pass(order, first_pass);
    first_pass = false;
    run_pass();
  }
  hb_acquire(&g_hb_block_end);  // all the block's threads did, finished or abandoned
  if (g_run.failed) return false;
  ++g_counters.blocks;
  g_counters.threads += n;
  return true;
}

// Check the launch configuration the way the CUDA runtime does; "" when it is fine.
EMU_INTERNAL std::string check_config(const LaunchInfo& info, cudaError_t* code) {
  const dim3 b = info.block, g = info.grid;
  const uint64_t threads = uint64_t(b.x) * b.y * b.z;
  *code = cudaErrorInvalidConfiguration;
  if (threads == 0 || g.x == 0 || g.y == 0 || g.z == 0)
    return format("grid (%u,%u,%u) or block (%u,%u,%u) is empty", g.x, g.y, g.z, b.x, b.y, b.z);
  if (threads > kMaxThreads)
    return format("block (%u,%u,%u) has %llu threads; at most %u are allowed", b.x, b.y, b.z,
                  static_cast<unsigned long long>(threads), kMaxThreads);
  if (b.z > 64) return format("block z dimension %u exceeds 64", b.z);
  if (g.x > 0x7fffffffu || g.y > 65535 || g.z > 65535)
    return format("grid (%u,%u,%u) exceeds (2^31-1, 65535, 65535)", g.x, g.y, g.z);
  *code = cudaErrorInvalidValue;
  if (info.smem_bytes > kMaxDynamicShared)
    return format("%zu bytes of dynamic shared memory requested; the device allows at most %zu",
                  info.smem_bytes, kMaxDynamicShared);
  const size_t allowed = detail::max_dynamic_shared(info.kernel);
  if (info.smem_bytes > kDefaultDynamicShared && info.smem_bytes > allowed)
    return format("%zu bytes of dynamic shared memory requested; above %zu the kernel must first "
                  "allow it with cudaFuncSetAttribute(kernel, "
                  "cudaFuncAttributeMaxDynamicSharedMemorySize, bytes) (allowed now: %zu)",
                  info.smem_bytes, kDefaultDynamicShared, allowed);
  *code = cudaSuccess;
  return "";
}

// Lay out the block's threads and warps; create fibers up to n. False if out of memory.
EMU_INTERNAL bool prepare_threads(dim3 b) {
  if (!g_threads) g_threads = new Thread[kMaxThreads];
  const unsigned n = b.x * b.y * b.z;
  const size_t stack = detail::config().stack_bytes;
  for (; g_fibers < n; ++g_fibers) {
    Thread& t = g_threads[g_fibers];
    std::snprintf(t.name, sizeof t.name, "emulated CUDA thread %u of the block", g_fibers);
    if (!fiber_create(t.fiber, stack, thread_main, &t, t.name)) return false;
  }
  for (unsigned i = 0; i < n; ++i) {
    Thread& t = g_threads[i];
    t.idx = uint3{i % b.x, (i / b.x) % b.y, i / (b.x * b.y)};
    t.warp = i / 32;
    t.lane = i % 32;
  }
  for (unsigned w = 0; w < kMaxThreads / 32; ++w) {
    const unsigned first = w * 32;
    g_warps[w].exists = first >= n ? 0u : (n - first >= 32 ? ~0u : (1u << (n - first)) - 1u);
  }
  g_run.nthreads = n;
  for (unsigned i = 0; i < n; ++i) g_order[i] = i;
  return true;
}

// The k-th block to run: forward, backward, or a pseudo-random permutation
// (offset + k * stride mod total, with stride coprime to total).
struct BlockOrder {
  uint64_t total, offset = 0, stride = 1;
  Order order;
  BlockOrder(uint64_t n, Order o, uint64_t& rng) : total(n), order(o) {
    if (order != Order::Shuffle || total < 2) return;
    offset = splitmix64(rng) % total;
    auto gcd = [](uint64_t a, uint64_t b) {
      while (b) a = std::exchange(b, a % b);
      return a;
    };
    do stride = 1 + splitmix64(rng) % (total - 1);
    while (gcd(stride, total) != 1);
  }
  uint64_t at(uint64_t k) const {
    if (order == Order::Reverse) return total - 1 - k;
    return static_cast<uint64_t>((offset + static_cast<unsigned __int128>(k) * stride) % total);
  }
};

}  // namespace

// ---- entry points ------------------------------------------------------------------------

EMU_INTERNAL void launch(const LaunchInfo& info) {
  if (t_launching) {
    detail::record_error(cudaErrorLaunchFailure,
                         format("kernel '%s' launched from inside a kernel", info.name));
    return;
  }
  cudaError_t code;
  const std::string bad = check_config(info, &code);
  if (!bad.empty()) {
    detail::record_error(code, format("launch of kernel '%s': %s", info.name, bad.c_str()));
    return;
  }
  std::lock_guard<std::mutex> lock(g_mutex);
  t_launching = true;
  fiber_init_main(g_main);
  if (!prepare_threads(info.block)) {
    t_launching = false;
    detail::record_error(cudaErrorLaunchOutOfResources,
                         format("launch of kernel '%s': cannot allocate fiber stacks", info.name));
    return;
  }
  g_run.info = &info;
  g_run.failed = false;
  g_run.message.clear();
  g_run.smem = info.smem_bytes ? std::malloc(info.smem_bytes) : nullptr;
  blockDim = info.block;
  gridDim = info.grid;
  ++g_counters.launches;

  const Order order = detail::config().order;
  g_run.rng = detail::config().seed ^ (g_counters.launches * 0x2545f4914f6cdd1dull);
  const dim3 g = info.grid;
  const BlockOrder blocks(uint64_t(g.x) * g.y * g.z, order, g_run.rng);
  for (uint64_t k = 0; k < blocks.total; ++k) {
    const uint64_t lin = blocks.at(k);
    const uint3 b{static_cast<unsigned>(lin % g.x), static_cast<unsigned>(lin / g.x % g.y),
                  static_cast<unsigned>(lin / (uint64_t(g.x) * g.y))};
    if (!run_block(b, order)) break;
  }

  if (g_run.failed) {  // abandon the fibers stopped mid-kernel
    for (unsigned i = 0; i < g_run.nthreads; ++i)
      if (g_threads[i].state != State::Done) fiber_restart(g_threads[i].fiber);
  }
  std::free(g_run.smem);
  g_run.smem = nullptr;
  g_run.info = nullptr;
  t_launching = false;
  if (g_run.failed) detail::record_kernel_failure(g_run.message);
}

EMU_INTERNAL int barrier(Site site, BarrierOp op, int predicate) {
  Thread* t = g_current;
  if (!t) {
    fail_on_host(site);
    return 0;
  }
  leave_runnable(*t, State::AtBarrier);
  ++g_run.at_barrier;
  t->site = site;
  t->bar_op = op;
  t->pred = predicate;
  char* hb = &g_hb_barrier[g_run.barriers % 2];
  hb_release(hb);
  yield();
  hb_acquire(hb);
  return static_cast<int>(t->result);
}

EMU_INTERNAL uint64_t warp_collective(Site site, WarpOp op, unsigned mask, uint64_t value, int arg,
                                      int width) {
  Thread* t = g_current;
  if (!t) {
    fail_on_host(site);
    return 0;
  }
  t->value = value;
  t->arg = arg;
  t->width = width;
  t->data = nullptr;
  t->fn = nullptr;
  arrive_at_warp_op(*t, site, op, mask);
  return t->result;
}

EMU_INTERNAL void warp_custom(Site site, unsigned mask, void* lane_data, WarpFn fn) {
  Thread* t = g_current;
  if (!t) {
    fail_on_host(site);
    return;
  }
  t->value = 0;
  t->data = lane_data;
  t->fn = fn;
  arrive_at_warp_op(*t, site, WarpOp::Custom, mask);
}

EMU_INTERNAL unsigned active_mask() {
  if (!g_current) return 0;
  unsigned mask = 0;
  for (unsigned l = 0; l < 32; ++l) {
    const unsigned i = g_current->warp * 32 + l;
    if (i < g_run.nthreads && g_threads[i].state != State::Done) mask |= 1u << l;
  }
  return mask;
}

EMU_INTERNAL unsigned lane_id() { return g_current ? g_current->lane : 0; }

EMU_INTERNAL void* dynamic_shared() { return g_run.smem; }

EMU_INTERNAL void kernel_fail(Site site, const char* message) {
  if (g_current) fail_here(site, "%s", message);
  detail::record_error(cudaErrorLaunchFailure,
                       format("%s called outside a kernel: %s", where(site).c_str(), message));
}

Counters counters() {
  std::lock_guard<std::mutex> lock(g_mutex);
  return g_counters;
}

void reset_counters() {
  std::lock_guard<std::mutex> lock(g_mutex);
  g_counters = Counters();
}

}  // namespace atento::emu
