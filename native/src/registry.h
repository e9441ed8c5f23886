// The addon's shared core: the table of live libtorch tensors that JavaScript holds by slot
// number, the scratch buffer through which every op reports its result's dtype and shape, the
// current device, and the guard that turns a libtorch exception into a JavaScript error that
// names the op. Every op of the addon goes through these.
#pragma once
#include <napi.h>
#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <string>
#include <vector>

namespace ut {

// dtype codes shared with lib/engine/torch/native.ts
enum DType : int32_t { F32 = 0, I32 = 1, BOOL = 2 };

at::ScalarType scalarType(int32_t code);
int32_t dtypeCode(at::ScalarType t);

/** Stores a tensor, returns its slot, and writes dtype and shape into the scratch buffer. */
int32_t put(at::Tensor t);
/** The tensor in a slot (throws for a freed or unknown slot). */
const at::Tensor& get(int32_t slot);
at::Device device();
at::TensorOptions opts(at::ScalarType t);

// Argument helpers (JavaScript numbers and arrays of numbers).
inline int32_t i32(const Napi::CallbackInfo& info, size_t i) { return info[i].As<Napi::Number>().Int32Value(); }
inline double f64(const Napi::CallbackInfo& info, size_t i) { return info[i].As<Napi::Number>().DoubleValue(); }
inline bool flag(const Napi::CallbackInfo& info, size_t i) { return info[i].ToBoolean().Value(); }
inline const at::Tensor& tensor(const Napi::CallbackInfo& info, size_t i) { return get(i32(info, i)); }
std::vector<int64_t> ints(const Napi::CallbackInfo& info, size_t i);
std::vector<at::Tensor> tensors(const Napi::CallbackInfo& info, size_t i);

/** Runs `body` under inference mode (no autograd bookkeeping: tfjs keeps its own tape) and
 * turns any libtorch or C++ exception into a JavaScript Error "<op>: <message>". */
template <typename F>
Napi::Value guarded(const Napi::CallbackInfo& info, const char* op, F body) {
  try {
    c10::InferenceMode mode;
    return body();
  } catch (const Napi::Error&) {
    throw;
  } catch (const c10::Error& e) {
    throw Napi::Error::New(info.Env(), std::string(op) + ": " + e.what_without_backtrace());
  } catch (const std::exception& e) {
    throw Napi::Error::New(info.Env(), std::string(op) + ": " + e.what());
  }
}

inline Napi::Value slotValue(const Napi::CallbackInfo& info, at::Tensor t) {
  return Napi::Number::New(info.Env(), put(std::move(t)));
}

Napi::Value slotArray(const Napi::CallbackInfo& info, const std::vector<at::Tensor>& ts);

void registerCore(Napi::Env env, Napi::Object exports);
void registerOps(Napi::Env env, Napi::Object exports);
void registerConvs(Napi::Env env, Napi::Object exports);
void registerAllocator(Napi::Env env, Napi::Object exports);

}  // namespace ut
