// fiber.h — cooperative fibers for the CUDA emulator: one fiber per emulated CUDA thread.
//
// A Fiber is a stack plus a saved stack pointer. fiber_switch(from, to) saves the callee-saved
// registers of `from` on its stack, loads `to`'s stack pointer and returns into `to`. On
// x86-64 this is ~15 instructions of hand-written assembly (fiber.cc), about 5x faster than
// swapcontext; elsewhere, or with -DATENTO_EMU_UCONTEXT, it falls back to <ucontext.h>.
//
// Sanitizers: under ThreadSanitizer every fiber is a TSan fiber and switches do NOT imply
// happens-before (so races between emulated threads are visible); under AddressSanitizer each
// switch is announced with __sanitizer_start/finish_switch_fiber so ASan knows which stack is
// live. Both are automatic: fiber.cc checks __SANITIZE_THREAD__ / __SANITIZE_ADDRESS__.
//
// All fibers of the emulator run on one OS thread; nothing here is thread-safe.
#pragma once

#include <cstddef>

#if !defined(__x86_64__) || defined(_WIN32)
#define ATENTO_EMU_UCONTEXT 1
#endif
#ifdef ATENTO_EMU_UCONTEXT
#include <ucontext.h>
#endif

namespace atento::emu {

struct Fiber {
  void* sp = nullptr;          // saved stack pointer while switched out (asm switch)
#ifdef ATENTO_EMU_UCONTEXT
  ucontext_t uc;               // saved context (ucontext fallback)
#endif
  char* stack = nullptr;       // lowest usable address; a guard page sits below it
  size_t stack_size = 0;       // usable bytes; 0 for the OS thread's own ("main") fiber
  void* tsan_fiber = nullptr;  // TSan's handle for this fiber
  void* asan_fake_stack = nullptr;  // ASan's fake stack of this fiber while switched out
  const void* asan_bottom = nullptr;  // stack bounds as ASan sees them (learned for "main")
  size_t asan_size = 0;
  void (*entry)(void*) = nullptr;
  void* arg = nullptr;
  const char* name = nullptr;  // shown in TSan reports; must outlive the fiber
};

// Make `f` represent the calling OS thread (the scheduler). No stack is allocated.
void fiber_init_main(Fiber& f);

// Allocate a stack of `stack_size` bytes (plus a guard page) and prepare `f` so that the
// first switch into it calls entry(arg). entry must never return; it switches away instead.
// Returns false when the stack cannot be allocated.
bool fiber_create(Fiber& f, size_t stack_size, void (*entry)(void*), void* arg,
                  const char* name);

// Forget whatever `f` was doing and make the next switch into it call entry(arg) afresh,
// reusing its stack. Used after an emulated kernel is aborted mid-block.
void fiber_restart(Fiber& f);

// Suspend `from` (the caller) and resume `to`. Returns when something switches back to `from`.
void fiber_switch(Fiber& from, Fiber& to);

}  // namespace atento::emu
