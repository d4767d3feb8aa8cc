// signal_guard.h — holds off asynchronous signals on the calling thread for one scope.
//
// Why: Debian's oneDNN 2.6 sgemm corrupts the heap when a signal handler runs on the calling
// thread in the middle of it (reproduced with `node --cpu-prof`, whose profiler sends SIGPROF
// to the JS thread ~1000 times a second: "malloc_consolidate(): invalid chunk size" within
// seconds of matmuls). Blocking signals around the oneDNN call defers them until it returns;
// the kernel is then interrupted between calls, where nothing of oneDNN's is in flight.
// Cost: two sigprocmask system calls (~1 us) per oneDNN call. SIGSEGV, SIGBUS, SIGFPE, SIGILL
// (synchronous faults) are left unblocked, as are SIGKILL and SIGSTOP, which cannot be blocked.
#pragma once

#include <pthread.h>
#include <signal.h>

namespace atento::cpu {

class SignalGuard {
 public:
  SignalGuard() {
    sigset_t all;
    sigfillset(&all);
    for (int s : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGABRT}) sigdelset(&all, s);
    active_ = pthread_sigmask(SIG_BLOCK, &all, &saved_) == 0;
  }
  ~SignalGuard() {
    if (active_) pthread_sigmask(SIG_SETMASK, &saved_, nullptr);
  }
  SignalGuard(const SignalGuard&) = delete;
  SignalGuard& operator=(const SignalGuard&) = delete;

 private:
  sigset_t saved_;
  bool active_;
};

}  // namespace atento::cpu
