// The addon's core: tensor slots (create from JavaScript data, read back, free, count live
// tensors and the bytes of the storages they hold), threads, device choice and what the linked
// libtorch is. The ops live in ops.cc and convs.cc.
#include "registry.h"
#include <ATen/Parallel.h>
#include <ATen/Context.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <torch/version.h>
#include <c10/core/CPUAllocator.h>
#include <dlfcn.h>
#include <cstring>
#include <unordered_map>

namespace ut {

namespace {
std::vector<at::Tensor> g_slots;
std::vector<int32_t> g_free;
int64_t g_live = 0;
// Storages held by live slots (views share one): pointer -> (slots holding it, bytes).
std::unordered_map<const void*, std::pair<int64_t, int64_t>> g_storages;
int64_t g_bytes = 0;
int64_t g_peak = 0;
int32_t* g_scratch = nullptr;  // [dtype, ndim, dims...], at most 30 dims
Napi::Reference<Napi::ArrayBuffer> g_scratchRef;
at::Device g_device = at::kCPU;

void track(const at::Tensor& t, int64_t delta) {
  if (!t.defined() || !t.has_storage()) return;
  const void* key = t.storage().unsafeGetStorageImpl();
  auto it = g_storages.find(key);
  if (delta > 0) {
    if (it == g_storages.end()) {
      int64_t n = static_cast<int64_t>(t.storage().nbytes());
      g_storages.emplace(key, std::make_pair(int64_t{1}, n));
      g_bytes += n;
      if (g_bytes > g_peak) g_peak = g_bytes;
    } else {
      it->second.first++;
    }
  } else if (it != g_storages.end()) {
    if (--it->second.first == 0) {
      g_bytes -= it->second.second;
      g_storages.erase(it);
    }
  }
}
}  // namespace

at::ScalarType scalarType(int32_t code) {
  switch (code) {
    case F32: return at::kFloat;
    case I32: return at::kInt;
    case BOOL: return at::kBool;
  }
  throw std::invalid_argument("unknown dtype code " + std::to_string(code));
}

int32_t dtypeCode(at::ScalarType t) {
  switch (t) {
    case at::kFloat: return F32;
    case at::kInt: return I32;
    case at::kBool: return BOOL;
    default: throw std::runtime_error(std::string("result has dtype ") + c10::toString(t) + ", which tfjs has no name for");
  }
}

int32_t put(at::Tensor t) {
  // tfjs knows float32, int32 and bool: narrow what libtorch widens (int64 indices, double).
  auto st = t.scalar_type();
  if (st == at::kLong || st == at::kShort || st == at::kByte || st == at::kChar) t = t.to(at::kInt);
  else if (st == at::kDouble || st == at::kHalf || st == at::kBFloat16) t = t.to(at::kFloat);
  int64_t nd = t.dim();
  if (nd > 30) throw std::runtime_error("result has rank " + std::to_string(nd) + " (at most 30)");
  g_scratch[0] = dtypeCode(t.scalar_type());
  g_scratch[1] = static_cast<int32_t>(nd);
  for (int64_t i = 0; i < nd; i++) g_scratch[2 + i] = static_cast<int32_t>(t.size(i));
  track(t, +1);
  g_live++;
  if (!g_free.empty()) {
    int32_t s = g_free.back();
    g_free.pop_back();
    g_slots[s] = std::move(t);
    return s;
  }
  g_slots.push_back(std::move(t));
  return static_cast<int32_t>(g_slots.size() - 1);
}

const at::Tensor& get(int32_t slot) {
  if (slot < 0 || static_cast<size_t>(slot) >= g_slots.size() || !g_slots[slot].defined())
    throw std::runtime_error("tensor slot " + std::to_string(slot) + " is not live (used after dispose?)");
  return g_slots[slot];
}

at::Device device() { return g_device; }
at::TensorOptions opts(at::ScalarType t) { return at::TensorOptions().dtype(t).device(g_device); }

std::vector<int64_t> ints(const Napi::CallbackInfo& info, size_t i) {
  auto a = info[i].As<Napi::Array>();
  std::vector<int64_t> out(a.Length());
  for (uint32_t k = 0; k < a.Length(); k++) out[k] = a.Get(k).As<Napi::Number>().Int64Value();
  return out;
}

std::vector<at::Tensor> tensors(const Napi::CallbackInfo& info, size_t i) {
  auto a = info[i].As<Napi::Array>();
  std::vector<at::Tensor> out;
  out.reserve(a.Length());
  for (uint32_t k = 0; k < a.Length(); k++) out.push_back(get(a.Get(k).As<Napi::Number>().Int32Value()));
  return out;
}

Napi::Value slotArray(const Napi::CallbackInfo& info, const std::vector<at::Tensor>& ts) {
  auto arr = Napi::Array::New(info.Env(), ts.size());
  for (size_t k = 0; k < ts.size(); k++) arr.Set(static_cast<uint32_t>(k), Napi::Number::New(info.Env(), put(ts[k])));
  return arr;
}

namespace {

// fromData(typedArray, shape, dtype) -> slot. Copies the values into libtorch memory.
Napi::Value FromData(const Napi::CallbackInfo& info) {
  return guarded(info, "fromData", [&] {
    auto ta = info[0].As<Napi::TypedArray>();
    auto shape = ints(info, 1);
    auto st = scalarType(i32(info, 2));
    int64_t n = 1;
    for (auto d : shape) n *= d;
    auto cpu = at::empty(shape, at::TensorOptions().dtype(st));
    size_t elem = cpu.element_size();
    size_t have = ta.ByteLength() / (ta.TypedArrayType() == napi_float64_array ? 8 : ta.TypedArrayType() == napi_int32_array || ta.TypedArrayType() == napi_float32_array || ta.TypedArrayType() == napi_uint32_array ? 4 : 1);
    if (static_cast<int64_t>(have) != n)
      throw std::runtime_error("got " + std::to_string(have) + " values for a shape of " + std::to_string(n));
    const uint8_t* src = static_cast<const uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset();
    auto type = ta.TypedArrayType();
    bool same = (st == at::kFloat && type == napi_float32_array) || (st == at::kInt && (type == napi_int32_array || type == napi_uint32_array)) ||
                (st == at::kBool && (type == napi_uint8_array || type == napi_int8_array || type == napi_uint8_clamped_array));
    if (same) {
      if (n > 0) std::memcpy(cpu.data_ptr(), src, n * elem);
      if (st == at::kBool) {  // tfjs allows any non-zero byte; libtorch's bool must be 0 or 1
        auto* p = static_cast<uint8_t*>(cpu.data_ptr());
        for (int64_t k = 0; k < n; k++) p[k] = p[k] != 0;
      }
    } else {
      // Another typed array (e.g. Float32Array for an int32 tensor): convert element-wise.
      at::ScalarType from;
      switch (type) {
        case napi_float32_array: from = at::kFloat; break;
        case napi_float64_array: from = at::kDouble; break;
        case napi_int32_array: from = at::kInt; break;
        case napi_uint32_array: from = at::kInt; break;
        case napi_uint8_array: case napi_uint8_clamped_array: from = at::kByte; break;
        case napi_int8_array: from = at::kChar; break;
        case napi_int16_array: from = at::kShort; break;
        default: throw std::runtime_error("unsupported typed array for tensor data");
      }
      auto view = at::from_blob(const_cast<uint8_t*>(src), shape, at::TensorOptions().dtype(from));
      cpu.copy_(view);
    }
    // 0-dim tensors (tfjs's scalar operands) stay in host memory even on a GPU: libtorch takes
    // a host scalar beside device tensors, and this saves one host-to-device copy per op.
    if (g_device.is_cpu() || cpu.dim() == 0) return slotValue(info, std::move(cpu));
    return slotValue(info, cpu.to(g_device));
  });
}

// read(slot) -> Float32Array | Int32Array | Uint8Array (a copy).
Napi::Value Read(const Napi::CallbackInfo& info) {
  return guarded(info, "read", [&]() -> Napi::Value {
    at::Tensor t = tensor(info, 0);
    if (!t.device().is_cpu()) t = t.to(at::kCPU);
    t = t.contiguous();
    int64_t n = t.numel();
    Napi::Env env = info.Env();
    switch (t.scalar_type()) {
      case at::kFloat: {
        auto out = Napi::Float32Array::New(env, n);
        if (n) std::memcpy(out.Data(), t.data_ptr<float>(), n * 4);
        return out;
      }
      case at::kInt: {
        auto out = Napi::Int32Array::New(env, n);
        if (n) std::memcpy(out.Data(), t.data_ptr<int32_t>(), n * 4);
        return out;
      }
      case at::kBool: {
        auto out = Napi::Uint8Array::New(env, n);
        if (n) std::memcpy(out.Data(), t.data_ptr<bool>(), n);
        return out;
      }
      default: throw std::runtime_error("cannot read dtype " + std::string(c10::toString(t.scalar_type())));
    }
  });
}

Napi::Value Free(const Napi::CallbackInfo& info) {
  int32_t s = i32(info, 0);
  if (s >= 0 && static_cast<size_t>(s) < g_slots.size() && g_slots[s].defined()) {
    track(g_slots[s], -1);
    g_slots[s] = at::Tensor();
    g_free.push_back(s);
    g_live--;
  }
  return info.Env().Undefined();
}

// Writes a slot's dtype and shape into the scratch buffer again (after a multi-output op).
Napi::Value Describe(const Napi::CallbackInfo& info) {
  return guarded(info, "describe", [&] {
    const at::Tensor& t = tensor(info, 0);
    g_scratch[0] = dtypeCode(t.scalar_type());
    g_scratch[1] = static_cast<int32_t>(t.dim());
    for (int64_t i = 0; i < t.dim(); i++) g_scratch[2 + i] = static_cast<int32_t>(t.size(i));
    return info.Env().Undefined();
  });
}

// strides(slot) -> the tensor's strides in elements (for diagnosing layouts).
Napi::Value Strides(const Napi::CallbackInfo& info) {
  return guarded(info, "strides", [&] {
    const at::Tensor& t = tensor(info, 0);
    auto arr = Napi::Array::New(info.Env(), t.dim());
    for (int64_t i = 0; i < t.dim(); i++) arr.Set(static_cast<uint32_t>(i), Napi::Number::New(info.Env(), static_cast<double>(t.stride(i))));
    return arr;
  });
}

Napi::Value Memory(const Napi::CallbackInfo& info) {
  auto o = Napi::Object::New(info.Env());
  o.Set("tensors", Napi::Number::New(info.Env(), static_cast<double>(g_live)));
  o.Set("bytes", Napi::Number::New(info.Env(), static_cast<double>(g_bytes)));
  o.Set("peakBytes", Napi::Number::New(info.Env(), static_cast<double>(g_peak)));
  o.Set("slots", Napi::Number::New(info.Env(), static_cast<double>(g_slots.size())));
  return o;
}

Napi::Value Scratch(const Napi::CallbackInfo& info) { return g_scratchRef.Value(); }

Napi::Value SetThreads(const Napi::CallbackInfo& info) {
  return guarded(info, "setThreads", [&] {
    int32_t n = i32(info, 0);
    if (n < 1) throw std::invalid_argument("threads must be at least 1");
    at::set_num_threads(n);
    return Napi::Number::New(info.Env(), at::get_num_threads());
  });
}

// The GPU's name through the CUDA driver API, looked up at run time so the addon needs no CUDA
// headers; empty when no driver is there.
std::string gpuName(int index) {
  void* lib = dlopen("libcuda.so.1", RTLD_LAZY | RTLD_LOCAL);
  if (!lib) return "";
  using InitFn = int (*)(unsigned);
  using GetFn = int (*)(int*, int);
  using NameFn = int (*)(char*, int, int);
  auto init = reinterpret_cast<InitFn>(dlsym(lib, "cuInit"));
  auto getDev = reinterpret_cast<GetFn>(dlsym(lib, "cuDeviceGet"));
  auto name = reinterpret_cast<NameFn>(dlsym(lib, "cuDeviceGetName"));
  std::string out;
  int dev = 0;
  char buf[256] = {0};
  if (init && getDev && name && init(0) == 0 && getDev(&dev, index) == 0 && name(buf, sizeof buf, dev) == 0) out = buf;
  return out;
}

Napi::Value CudaDevices(const Napi::CallbackInfo& info) {
  return guarded(info, "cudaDevices", [&] {
    bool has = at::hasCUDA();
    int n = has ? static_cast<int>(at::detail::getCUDAHooks().getNumGPUs()) : 0;
    return Napi::Number::New(info.Env(), n);
  });
}

Napi::Value SetDevice(const Napi::CallbackInfo& info) {
  return guarded(info, "setDevice", [&] {
    std::string d = info[0].As<Napi::String>().Utf8Value();
    at::Device dev(d);
    if (dev.is_cuda()) {
      if (!at::hasCUDA()) throw std::runtime_error("this libtorch was built without CUDA");
      int n = static_cast<int>(at::detail::getCUDAHooks().getNumGPUs());
      if (n == 0) throw std::runtime_error("libtorch has CUDA but sees no GPU");
      if (dev.has_index() && dev.index() >= n) throw std::runtime_error("there is no GPU " + std::to_string(dev.index()));
      if (!dev.has_index()) dev = at::Device(at::kCUDA, 0);
    }
    if (g_live > 0 && dev != g_device) throw std::runtime_error("cannot change the device while tensors are live");
    g_device = dev;
    return Napi::String::New(info.Env(), g_device.str());
  });
}

Napi::Value Synchronize(const Napi::CallbackInfo& info) {
  return guarded(info, "synchronize", [&] {
    if (g_device.is_cuda()) {
      // A tiny copy to the host waits for every queued kernel on the current stream.
      auto t = at::zeros({1}, opts(at::kFloat));
      (void)t.to(at::kCPU);
    }
    return info.Env().Undefined();
  });
}

Napi::Value Info(const Napi::CallbackInfo& info) {
  return guarded(info, "info", [&] {
    Napi::Env env = info.Env();
    auto o = Napi::Object::New(env);
    o.Set("version", Napi::String::New(env, TORCH_VERSION));
    o.Set("threads", Napi::Number::New(env, at::get_num_threads()));
    o.Set("cuda", Napi::Boolean::New(env, at::hasCUDA()));
    int n = at::hasCUDA() ? static_cast<int>(at::detail::getCUDAHooks().getNumGPUs()) : 0;
    o.Set("gpus", Napi::Number::New(env, n));
    o.Set("gpuName", Napi::String::New(env, n > 0 ? gpuName(g_device.is_cuda() ? g_device.index() : 0) : ""));
    o.Set("mkldnn", Napi::Boolean::New(env, at::hasMKLDNN()));
    o.Set("parallel", Napi::String::New(env, at::get_parallel_info().substr(0, 400)));
    o.Set("device", Napi::String::New(env, g_device.str()));
    return o;
  });
}

}  // namespace

void registerCore(Napi::Env env, Napi::Object exports) {
  // The scratch buffer exists before any op can write to it.
  auto buf = Napi::ArrayBuffer::New(env, 32 * sizeof(int32_t));
  g_scratch = static_cast<int32_t*>(buf.Data());
  g_scratchRef = Napi::Persistent(buf);
  exports.Set("scratch", Napi::Function::New(env, Scratch));
  exports.Set("fromData", Napi::Function::New(env, FromData));
  exports.Set("read", Napi::Function::New(env, Read));
  exports.Set("free", Napi::Function::New(env, Free));
  exports.Set("describe", Napi::Function::New(env, Describe));
  exports.Set("memory", Napi::Function::New(env, Memory));
  exports.Set("strides", Napi::Function::New(env, Strides));
  exports.Set("setThreads", Napi::Function::New(env, SetThreads));
  exports.Set("setDevice", Napi::Function::New(env, SetDevice));
  exports.Set("cudaDevices", Napi::Function::New(env, CudaDevices));
  exports.Set("synchronize", Napi::Function::New(env, Synchronize));
  exports.Set("info", Napi::Function::New(env, Info));
}

}  // namespace ut

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  ut::registerAllocator(env, exports);
  ut::registerCore(env, exports);
  ut::registerOps(env, exports);
  ut::registerConvs(env, exports);
  return exports;
}

NODE_API_MODULE(unpaired_torch, Init)
