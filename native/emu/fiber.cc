// fiber.cc — stacks and context switches for the emulator's fibers (see fiber.h).
//
// x86-64 (System V): atento_emu_switch pushes the six callee-saved registers on the current
// stack, stores the stack pointer into *save_sp, loads new_sp, pops the six registers of the
// other fiber and returns into it. A new fiber's stack is laid out as if it had been switched
// out just before atento_emu_fiber_stub, which calls fiber_start(fiber) on a 16-byte aligned
// stack. Floating-point control state is not switched: every emulated thread shares it.
//
// Other platforms, or -DATENTO_EMU_UCONTEXT: getcontext/makecontext/swapcontext.
//
// Sanitizer hooks (ASan start/finish_switch_fiber, TSan fibers) are compiled in when the
// compiler says the sanitizer is on (__SANITIZE_ADDRESS__, __SANITIZE_THREAD__).
#include "fiber.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>

#if defined(__SANITIZE_ADDRESS__) && !defined(ATENTO_EMU_ASAN)
#define ATENTO_EMU_ASAN 1
#endif
#ifdef ATENTO_EMU_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif
#if defined(__SANITIZE_THREAD__) && !defined(ATENTO_EMU_TSAN)
#define ATENTO_EMU_TSAN 1
#endif
#ifdef ATENTO_EMU_TSAN
#include <sanitizer/tsan_interface.h>
// Fiber bookkeeping is touched by several fibers of one OS thread, which never run at once;
// TSan cannot know that, so these functions are not instrumented.
#define FIBER_INTERNAL __attribute__((no_sanitize("thread")))
#else
#define FIBER_INTERNAL
#endif

#ifndef ATENTO_EMU_UCONTEXT
#if defined(__APPLE__)
#define ATENTO_ASM_SYM(name) "_" #name
#define ATENTO_ASM_DECL(name) ".private_extern _" #name "\n"
#else
#define ATENTO_ASM_SYM(name) #name
#define ATENTO_ASM_DECL(name) ".hidden " #name "\n.type " #name ",@function\n"
#endif

// void atento_emu_switch(void** save_sp, void* new_sp)   rdi = save_sp, rsi = new_sp
// atento_emu_fiber_stub: first code run by a new fiber; r12 = function, r13 = its argument.
asm(".text\n"
    ".globl " ATENTO_ASM_SYM(atento_emu_switch) "\n" ATENTO_ASM_DECL(atento_emu_switch)
    ".p2align 4\n" ATENTO_ASM_SYM(atento_emu_switch) ":\n"
    "  pushq %rbp\n"
    "  pushq %rbx\n"
    "  pushq %r12\n"
    "  pushq %r13\n"
    "  pushq %r14\n"
    "  pushq %r15\n"
    "  movq %rsp, (%rdi)\n"
    "  movq %rsi, %rsp\n"
    "  popq %r15\n"
    "  popq %r14\n"
    "  popq %r13\n"
    "  popq %r12\n"
    "  popq %rbx\n"
    "  popq %rbp\n"
    "  ret\n"
    ".globl " ATENTO_ASM_SYM(atento_emu_fiber_stub) "\n" ATENTO_ASM_DECL(atento_emu_fiber_stub)
    ".p2align 4\n" ATENTO_ASM_SYM(atento_emu_fiber_stub) ":\n"
    "  movq %r13, %rdi\n"
    "  callq *%r12\n"
    "  ud2\n");

extern "C" void atento_emu_switch(void** save_sp, void* new_sp);
extern "C" void atento_emu_fiber_stub();
#endif

namespace atento::emu {
namespace {

// The fiber that made the latest switch. A fiber that starts for the first time tells ASan
// it arrived and learns the bounds of the stack it came from (needed to switch back there).
Fiber* g_switch_from = nullptr;

FIBER_INTERNAL void fiber_start(Fiber* self) {
#ifdef ATENTO_EMU_ASAN
  __sanitizer_finish_switch_fiber(nullptr, &g_switch_from->asan_bottom, &g_switch_from->asan_size);
#endif
  self->entry(self->arg);  // never returns: entry switches away for good instead
}

#ifdef ATENTO_EMU_UCONTEXT
// makecontext passes int arguments only: the Fiber* travels as two halves.
FIBER_INTERNAL void fiber_start_ucontext(unsigned hi, unsigned lo) {
  uintptr_t p = (static_cast<uintptr_t>(hi) << 32) | lo;
  fiber_start(reinterpret_cast<Fiber*>(p));
}
#endif

// Point a fiber's saved context at the top of its stack, ready to run fiber_start.
FIBER_INTERNAL void prepare_context(Fiber& f) {
#ifdef ATENTO_EMU_UCONTEXT
  getcontext(&f.uc);
  f.uc.uc_stack.ss_sp = f.stack;
  f.uc.uc_stack.ss_size = f.stack_size;
  f.uc.uc_link = nullptr;
  uintptr_t p = reinterpret_cast<uintptr_t>(&f);
  makecontext(&f.uc, reinterpret_cast<void (*)()>(&fiber_start_ucontext), 2,
              static_cast<unsigned>(p >> 32), static_cast<unsigned>(p & 0xffffffffu));
#else
  // From the 16-byte aligned top, downwards: two zero words, the stub's address (popped by
  // `ret`), then rbp, rbx, r12, r13, r14, r15 as atento_emu_switch pops them. After the ret,
  // rsp = top - 16 is 16-byte aligned, as the stub's call instruction requires.
  uintptr_t top = (reinterpret_cast<uintptr_t>(f.stack) + f.stack_size) & ~uintptr_t(15);
  uintptr_t* s = reinterpret_cast<uintptr_t*>(top);
  *--s = 0;
  *--s = 0;
  *--s = reinterpret_cast<uintptr_t>(&atento_emu_fiber_stub);
  *--s = 0;                                            // rbp: ends frame-pointer walks
  *--s = 0;                                            // rbx
  *--s = reinterpret_cast<uintptr_t>(&fiber_start);    // r12
  *--s = reinterpret_cast<uintptr_t>(&f);              // r13
  *--s = 0;                                            // r14
  *--s = 0;                                            // r15
  f.sp = s;
#endif
}

size_t page_size() { return static_cast<size_t>(sysconf(_SC_PAGESIZE)); }

}  // namespace

FIBER_INTERNAL void fiber_init_main(Fiber& f) {
  f = Fiber();
#ifdef ATENTO_EMU_TSAN
  f.tsan_fiber = __tsan_get_current_fiber();
#endif
}

FIBER_INTERNAL bool fiber_create(Fiber& f, size_t stack_size, void (*entry)(void*), void* arg,
                                 const char* name) {
  f = Fiber();
  const size_t page = page_size();
  stack_size = (stack_size + page - 1) / page * page;
  void* mem = mmap(nullptr, stack_size + page, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) return false;
  mprotect(mem, page, PROT_NONE);  // guard page: a stack overflow faults instead of corrupting
  f.stack = static_cast<char*>(mem) + page;
  f.stack_size = stack_size;
  f.asan_bottom = f.stack;
  f.asan_size = stack_size;
  f.entry = entry;
  f.arg = arg;
  f.name = name;
#ifdef ATENTO_EMU_TSAN
  f.tsan_fiber = __tsan_create_fiber(0);
  __tsan_set_fiber_name(f.tsan_fiber, name);
#endif
  prepare_context(f);
  return true;
}

FIBER_INTERNAL void fiber_restart(Fiber& f) {
#ifdef ATENTO_EMU_TSAN
  // TSan keeps a shadow call stack per fiber; an abandoned fiber's would leak frames.
  __tsan_destroy_fiber(f.tsan_fiber);
  f.tsan_fiber = __tsan_create_fiber(0);
  __tsan_set_fiber_name(f.tsan_fiber, f.name);
#endif
#ifdef ATENTO_EMU_ASAN
  __asan_unpoison_memory_region(f.stack, f.stack_size);  // redzones of abandoned frames
  f.asan_fake_stack = nullptr;
#endif
  prepare_context(f);
}

FIBER_INTERNAL void fiber_switch(Fiber& from, Fiber& to) {
  g_switch_from = &from;
#ifdef ATENTO_EMU_TSAN
  // no_sync: a switch is not a synchronisation between emulated threads; barriers are.
  __tsan_switch_to_fiber(to.tsan_fiber, __tsan_switch_to_fiber_no_sync);
#endif
#ifdef ATENTO_EMU_ASAN
  __sanitizer_start_switch_fiber(&from.asan_fake_stack, to.asan_bottom, to.asan_size);
#endif
#ifdef ATENTO_EMU_UCONTEXT
  swapcontext(&from.uc, &to.uc);
#else
  atento_emu_switch(&from.sp, to.sp);
#endif
#ifdef ATENTO_EMU_ASAN
  __sanitizer_finish_switch_fiber(from.asan_fake_stack, &g_switch_from->asan_bottom,
                                  &g_switch_from->asan_size);
#endif
}

}  // namespace atento::emu
