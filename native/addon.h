// addon.h — per-environment state. The module is context-aware: each Node environment (the main
// thread and every worker_thread that loads atento) gets its own InstanceData, freed by the
// environment's cleanup hook, never by a static destructor.
#pragma once

#include <napi.h>

namespace atento {

struct InstanceData {
  Napi::FunctionReference errorClass;    // the JS AtentoError class, handed over by lib/native.ts
  Napi::FunctionReference deviceBuffer;  // the DeviceBuffer constructor
};

InstanceData& instance(Napi::Env env);

}  // namespace atento
