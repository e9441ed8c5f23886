// Convolutions and pooling of the addon, in 2D and 3D (one definition, `dims` spatial axes),
// forward and both gradients. tfjs hands channels-last tensors ([N, (D,) H, W, C], filters
// [(kd,) kh, kw, Cin, Cout]); libtorch's convolution takes [N, C, spatial...] and [Cout, Cin,
// k...], which for a channels-last buffer is a free permute. Whether the arithmetic runs on
// channels-last (oneDNN's preferred) or contiguous channels-first memory is setLayout's choice;
// results come back as permuted views, so the next op pays no copy either way. Asymmetric
// "same" padding (stride 2 on even sizes), which libtorch's convolution cannot express, pads
// explicitly, and the gradients crop what that padding added.
#include "registry.h"

namespace ut {
namespace {

// Memory layout the arithmetic runs in, per number of spatial axes. "auto" (the default) is
// what measured fastest with libtorch 1.13's oneDNN on CPU: channels-last in 2D, contiguous
// channels-first in 3D (its channels-last 3D gradients are several times slower).
bool g_channelsLast2d = true;
bool g_channelsLast3d = false;

at::MemoryFormat fmt(int64_t dims) {
  if (dims == 2) return g_channelsLast2d ? at::MemoryFormat::ChannelsLast : at::MemoryFormat::Contiguous;
  return g_channelsLast3d ? at::MemoryFormat::ChannelsLast3d : at::MemoryFormat::Contiguous;
}

std::vector<int64_t> toFirstPerm(int64_t dims) {
  return dims == 2 ? std::vector<int64_t>{0, 3, 1, 2} : std::vector<int64_t>{0, 4, 1, 2, 3};
}
std::vector<int64_t> toLastPerm(int64_t dims) {
  return dims == 2 ? std::vector<int64_t>{0, 2, 3, 1} : std::vector<int64_t>{0, 2, 3, 4, 1};
}

/** A tensor in tfjs layout as libtorch's [N, C, spatial...], in the chosen memory format. */
at::Tensor toTorch(const at::Tensor& x, int64_t dims, bool channelsFirst) {
  at::Tensor y = channelsFirst ? x : x.permute(toFirstPerm(dims));
  return y.contiguous(fmt(dims));
}
at::Tensor fromTorch(const at::Tensor& y, int64_t dims, bool channelsFirst) {
  return channelsFirst ? y : y.permute(toLastPerm(dims));
}
/** tfjs filter [k..., Cin, Cout] as libtorch's [Cout, Cin, k...]. */
at::Tensor filterToTorch(const at::Tensor& w, int64_t dims) {
  auto p = dims == 2 ? std::vector<int64_t>{3, 2, 0, 1} : std::vector<int64_t>{4, 3, 0, 1, 2};
  return w.permute(p).contiguous(fmt(dims));
}
at::Tensor filterFromTorch(const at::Tensor& w, int64_t dims) {
  auto p = dims == 2 ? std::vector<int64_t>{2, 3, 1, 0} : std::vector<int64_t>{2, 3, 4, 1, 0};
  return w.permute(p);
}

struct Geometry {
  int64_t dims;
  std::vector<int64_t> strides, before, after, dilations;
  bool channelsFirst;
  bool symmetric() const {
    for (int64_t i = 0; i < dims; i++)
      if (before[i] != after[i]) return false;
    return true;
  }
  /** Pairs for constant_pad_nd on [N, C, spatial...]: last axis first. */
  std::vector<int64_t> padPairs() const {
    std::vector<int64_t> p;
    for (int64_t i = dims - 1; i >= 0; i--) {
      p.push_back(before[i]);
      p.push_back(after[i]);
    }
    return p;
  }
  /** Crops what padPairs added from a [N, C, spatial...] tensor. */
  at::Tensor crop(at::Tensor t) const {
    for (int64_t i = 0; i < dims; i++) t = t.narrow(2 + i, before[i], t.size(2 + i) - before[i] - after[i]);
    return t;
  }
};

// Arguments from `first` on: dims, strides[dims], pads[2*dims] (before, after per axis),
// dilations[dims], channelsFirst.
Geometry geometry(const Napi::CallbackInfo& info, size_t first) {
  Geometry g;
  g.dims = i32(info, first);
  g.strides = ints(info, first + 1);
  auto pads = ints(info, first + 2);
  g.dilations = ints(info, first + 3);
  g.channelsFirst = flag(info, first + 4);
  if (g.dims != 2 && g.dims != 3) throw std::invalid_argument("dims must be 2 or 3");
  if (static_cast<int64_t>(g.strides.size()) != g.dims || static_cast<int64_t>(pads.size()) != 2 * g.dims ||
      static_cast<int64_t>(g.dilations.size()) != g.dims)
    throw std::invalid_argument("strides, pads or dilations do not match dims");
  for (int64_t i = 0; i < g.dims; i++) {
    g.before.push_back(pads[2 * i]);
    g.after.push_back(pads[2 * i + 1]);
  }
  return g;
}

/** [N, C, spatial...] sizes from a tfjs shape. */
std::vector<int64_t> torchSizes(const std::vector<int64_t>& shape, const Geometry& g) {
  if (g.channelsFirst) return shape;
  std::vector<int64_t> s{shape[0], shape.back()};
  for (int64_t i = 1; i <= g.dims; i++) s.push_back(shape[i]);
  return s;
}

// conv(x, filter, dims, strides, pads, dilations, channelsFirst)
Napi::Value Conv(const Napi::CallbackInfo& info) {
  return guarded(info, "conv", [&] {
    Geometry g = geometry(info, 2);
    at::Tensor x = toTorch(tensor(info, 0), g.dims, g.channelsFirst);
    at::Tensor w = filterToTorch(tensor(info, 1), g.dims);
    std::vector<int64_t> pad = g.before;
    if (!g.symmetric()) {
      x = at::constant_pad_nd(x, g.padPairs(), 0).contiguous(fmt(g.dims));
      pad.assign(g.dims, 0);
    }
    std::vector<int64_t> zeros(g.dims, 0);
    auto y = at::convolution(x, w, c10::nullopt, g.strides, pad, g.dilations, false, zeros, 1);
    return slotValue(info, fromTorch(y, g.dims, g.channelsFirst));
  });
}

// convBackpropInput(dy, filter, inputShape, dims, strides, pads, dilations, channelsFirst):
// the gradient of conv with respect to its input, which is also the transposed convolution.
Napi::Value ConvBackpropInput(const Napi::CallbackInfo& info) {
  return guarded(info, "convBackpropInput", [&] {
    Geometry g = geometry(info, 3);
    at::Tensor dy = toTorch(tensor(info, 0), g.dims, g.channelsFirst);
    at::Tensor w = filterToTorch(tensor(info, 1), g.dims);
    auto sizes = torchSizes(ints(info, 2), g);
    bool sym = g.symmetric();
    if (!sym)
      for (int64_t i = 0; i < g.dims; i++) sizes[2 + i] += g.before[i] + g.after[i];
    // Only the input's sizes and memory format are read.
    auto shapeOnly = at::empty(sizes, dy.options(), fmt(g.dims));
    std::vector<int64_t> zeros(g.dims, 0);
    auto grads = at::convolution_backward(dy, shapeOnly, w, c10::nullopt, g.strides, sym ? g.before : zeros, g.dilations, false,
                                          zeros, 1, {true, false, false});
    at::Tensor dx = std::get<0>(grads);
    if (!sym) dx = g.crop(dx);
    return slotValue(info, fromTorch(dx, g.dims, g.channelsFirst));
  });
}

// convBackpropFilter(x, dy, filterShape, dims, strides, pads, dilations, channelsFirst)
Napi::Value ConvBackpropFilter(const Napi::CallbackInfo& info) {
  return guarded(info, "convBackpropFilter", [&] {
    Geometry g = geometry(info, 3);
    at::Tensor x = toTorch(tensor(info, 0), g.dims, g.channelsFirst);
    at::Tensor dy = toTorch(tensor(info, 1), g.dims, g.channelsFirst);
    auto fshape = ints(info, 2);  // [k..., Cin, Cout]
    std::vector<int64_t> wsizes{fshape[g.dims + 1], fshape[g.dims]};
    for (int64_t i = 0; i < g.dims; i++) wsizes.push_back(fshape[i]);
    bool sym = g.symmetric();
    if (!sym) x = at::constant_pad_nd(x, g.padPairs(), 0).contiguous(fmt(g.dims));
    auto shapeOnly = at::empty(wsizes, x.options(), fmt(g.dims));
    std::vector<int64_t> zeros(g.dims, 0);
    auto grads = at::convolution_backward(dy, x, shapeOnly, c10::nullopt, g.strides, sym ? g.before : zeros, g.dilations, false,
                                          zeros, 1, {false, true, false});
    return slotValue(info, filterFromTorch(std::get<1>(grads), g.dims));
  });
}

// Pooling: kernel sizes in place of dilations in the geometry arguments.
struct Pool {
  Geometry g;
  std::vector<int64_t> kernel;
  bool fitsTorch() const {  // libtorch pads implicitly only symmetrically and by at most k/2
    if (!g.symmetric()) return false;
    for (int64_t i = 0; i < g.dims; i++)
      if (g.before[i] * 2 > kernel[i]) return false;
    return true;
  }
};

Pool pool(const Napi::CallbackInfo& info, size_t first) {
  Pool p;
  p.g = geometry(info, first);
  p.kernel = p.g.dilations;
  p.g.dilations.assign(p.g.dims, 1);
  return p;
}

at::Tensor avgPoolSums(const at::Tensor& x, const Pool& p, bool countPad, c10::optional<int64_t> divisor, const std::vector<int64_t>& pad) {
  return p.g.dims == 2 ? at::avg_pool2d(x, p.kernel, p.g.strides, pad, false, countPad, divisor)
                       : at::avg_pool3d(x, p.kernel, p.g.strides, pad, false, countPad, divisor);
}

/** How many real (unpadded) cells each window of an explicitly padded pool covers. */
at::Tensor windowCounts(const std::vector<int64_t>& spatial, const Pool& p, const at::TensorOptions& o) {
  std::vector<int64_t> s{1, 1};
  s.insert(s.end(), spatial.begin(), spatial.end());
  auto ones = at::constant_pad_nd(at::ones(s, o), p.g.padPairs(), 0);
  std::vector<int64_t> zeros(p.g.dims, 0);
  return avgPoolSums(ones, p, true, 1, zeros);
}

// avgPool(x, dims, strides, pads, kernel, channelsFirst): padding cells are not counted.
Napi::Value AvgPool(const Napi::CallbackInfo& info) {
  return guarded(info, "avgPool", [&] {
    Pool p = pool(info, 1);
    at::Tensor x = toTorch(tensor(info, 0), p.g.dims, p.g.channelsFirst);
    at::Tensor y;
    if (p.fitsTorch()) {
      y = avgPoolSums(x, p, false, c10::nullopt, p.g.before);
    } else {
      std::vector<int64_t> spatial(x.sizes().begin() + 2, x.sizes().end());
      std::vector<int64_t> zeros(p.g.dims, 0);
      auto sums = avgPoolSums(at::constant_pad_nd(x, p.g.padPairs(), 0), p, true, 1, zeros);
      y = at::div(sums, windowCounts(spatial, p, x.options()));
    }
    return slotValue(info, fromTorch(y, p.g.dims, p.g.channelsFirst));
  });
}

// avgPoolGrad(dy, inputShape, dims, strides, pads, kernel, channelsFirst)
Napi::Value AvgPoolGrad(const Napi::CallbackInfo& info) {
  return guarded(info, "avgPoolGrad", [&] {
    Pool p = pool(info, 2);
    at::Tensor dy = toTorch(tensor(info, 0), p.g.dims, p.g.channelsFirst);
    auto sizes = torchSizes(ints(info, 1), p.g);
    at::Tensor dx;
    if (p.fitsTorch()) {
      auto shapeOnly = at::empty(sizes, dy.options(), fmt(p.g.dims));
      dx = p.g.dims == 2 ? at::avg_pool2d_backward(dy, shapeOnly, p.kernel, p.g.strides, p.g.before, false, false, c10::nullopt)
                         : at::avg_pool3d_backward(dy, shapeOnly, p.kernel, p.g.strides, p.g.before, false, false, c10::nullopt);
    } else {
      std::vector<int64_t> spatial(sizes.begin() + 2, sizes.end());
      auto scaled = at::div(dy, windowCounts(spatial, p, dy.options()));
      auto padded = sizes;
      for (int64_t i = 0; i < p.g.dims; i++) padded[2 + i] += p.g.before[i] + p.g.after[i];
      auto shapeOnly = at::empty(padded, dy.options(), fmt(p.g.dims));
      std::vector<int64_t> zeros(p.g.dims, 0);
      dx = p.g.dims == 2 ? at::avg_pool2d_backward(scaled, shapeOnly, p.kernel, p.g.strides, zeros, false, true, 1)
                         : at::avg_pool3d_backward(scaled, shapeOnly, p.kernel, p.g.strides, zeros, false, true, 1);
      dx = p.g.crop(dx);
    }
    return slotValue(info, fromTorch(dx, p.g.dims, p.g.channelsFirst));
  });
}

/** Max pooling with indices, padding with -inf explicitly when libtorch cannot. */
std::tuple<at::Tensor, at::Tensor, at::Tensor> maxPoolWithIndices(at::Tensor x, const Pool& p) {
  std::vector<int64_t> pad = p.g.before;
  if (!p.fitsTorch()) {
    x = at::constant_pad_nd(x, p.g.padPairs(), -std::numeric_limits<double>::infinity());
    pad.assign(p.g.dims, 0);
  }
  std::vector<int64_t> ones(p.g.dims, 1);
  auto r = p.g.dims == 2 ? at::max_pool2d_with_indices(x, p.kernel, p.g.strides, pad, ones, false)
                         : at::max_pool3d_with_indices(x, p.kernel, p.g.strides, pad, ones, false);
  return {std::get<0>(r), std::get<1>(r), x};
}

Napi::Value MaxPool(const Napi::CallbackInfo& info) {
  return guarded(info, "maxPool", [&] {
    Pool p = pool(info, 1);
    at::Tensor x = toTorch(tensor(info, 0), p.g.dims, p.g.channelsFirst);
    std::vector<int64_t> ones(p.g.dims, 1);
    at::Tensor y;
    if (p.fitsTorch()) {
      y = p.g.dims == 2 ? at::max_pool2d(x, p.kernel, p.g.strides, p.g.before, ones, false)
                        : at::max_pool3d(x, p.kernel, p.g.strides, p.g.before, ones, false);
    } else {
      y = std::get<0>(maxPoolWithIndices(x, p));
    }
    return slotValue(info, fromTorch(y, p.g.dims, p.g.channelsFirst));
  });
}

// maxPoolGrad(dy, x, dims, strides, pads, kernel, channelsFirst): dy goes to the first maximum.
Napi::Value MaxPoolGrad(const Napi::CallbackInfo& info) {
  return guarded(info, "maxPoolGrad", [&] {
    Pool p = pool(info, 2);
    at::Tensor dy = toTorch(tensor(info, 0), p.g.dims, p.g.channelsFirst);
    at::Tensor x = toTorch(tensor(info, 1), p.g.dims, p.g.channelsFirst);
    auto [y, idx, xp] = maxPoolWithIndices(x, p);
    std::vector<int64_t> ones(p.g.dims, 1);
    std::vector<int64_t> pad = p.fitsTorch() ? p.g.before : std::vector<int64_t>(p.g.dims, 0);
    at::Tensor dx = p.g.dims == 2 ? at::max_pool2d_with_indices_backward(dy, xp, p.kernel, p.g.strides, pad, ones, false, idx)
                                  : at::max_pool3d_with_indices_backward(dy, xp, p.kernel, p.g.strides, pad, ones, false, idx);
    if (!p.fitsTorch()) dx = p.g.crop(dx);
    return slotValue(info, fromTorch(dx, p.g.dims, p.g.channelsFirst));
  });
}

Napi::Value SetLayout(const Napi::CallbackInfo& info) {
  std::string l = info[0].As<Napi::String>().Utf8Value();
  if (l != "channels-last" && l != "channels-first" && l != "auto")
    throw Napi::Error::New(info.Env(), "layout must be auto, channels-last or channels-first");
  g_channelsLast2d = l != "channels-first";
  g_channelsLast3d = l == "channels-last";
  return Napi::String::New(info.Env(), l);
}

}  // namespace

void registerConvs(Napi::Env env, Napi::Object exports) {
  exports.Set("conv", Napi::Function::New(env, Conv));
  exports.Set("convBackpropInput", Napi::Function::New(env, ConvBackpropInput));
  exports.Set("convBackpropFilter", Napi::Function::New(env, ConvBackpropFilter));
  exports.Set("avgPool", Napi::Function::New(env, AvgPool));
  exports.Set("avgPoolGrad", Napi::Function::New(env, AvgPoolGrad));
  exports.Set("maxPool", Napi::Function::New(env, MaxPool));
  exports.Set("maxPoolGrad", Napi::Function::New(env, MaxPoolGrad));
  exports.Set("setLayout", Napi::Function::New(env, SetLayout));
}

}  // namespace ut
