// Element-wise, reduction, shape and indexing ops of the addon: one exported function per op
// family, the op chosen by a code that lib/engine/torch/kernels.ts shares. Shapes arrive in
// tfjs order (channels last); libtorch works on whatever strides a tensor has, so views
// (transpose, slice, split) cost nothing here.
#include "registry.h"
#include <ATen/Parallel.h>

#include <algorithm>
#include <limits>

namespace ut {
namespace {

// Unary codes (kernels.ts: UNARY)
at::Tensor unary(int32_t code, const at::Tensor& x) {
  switch (code) {
    case 0: return at::abs(x);
    case 1: return at::neg(x);
    case 2: return at::exp(x);
    case 3: return at::log(x);
    case 4: return at::log1p(x);
    case 5: return at::sqrt(x);
    case 6: return at::rsqrt(x);
    case 7: return at::square(x);
    case 8: return at::relu(x);
    case 9: return at::sigmoid(x);
    case 10: return at::tanh(x);
    case 11: return at::softplus(x);
    case 12: return at::sign(x);
    case 13: return at::floor(x);
    case 14: return at::ceil(x);
    case 15: return at::round(x);
    case 16: return at::sin(x);
    case 17: return at::cos(x);
    case 18: return at::expm1(x);
    case 19: return at::reciprocal(x);
    case 20: return at::erf(x);
    case 21: return at::isnan(x);
    case 22: return at::isinf(x);
    case 23: return at::logical_not(x);
    case 24: return at::elu(x);
    case 25: return at::clamp(x, 0, 6);
    case 26: return at::selu(x);
    case 27: return x.alias();
    case 28: return at::zeros_like(x, at::MemoryFormat::Contiguous);
    case 29: return at::ones_like(x, at::MemoryFormat::Contiguous);
    case 30: return at::isfinite(x);
    case 31: return at::log_sigmoid(x);
    case 32: return at::atan(x);
  }
  throw std::invalid_argument("unknown unary op " + std::to_string(code));
}

// Binary codes (kernels.ts: BINARY); inputs broadcast as in numpy, which is tfjs's rule.
at::Tensor binary(int32_t code, const at::Tensor& a, const at::Tensor& b) {
  switch (code) {
    case 0: return at::add(a, b);
    case 1: return at::sub(a, b);
    case 2: return at::mul(a, b);
    case 3: return at::div(a, b);
    case 4: return at::pow(a, b);
    case 5: return at::maximum(a, b);
    case 6: return at::minimum(a, b);
    case 7: { auto d = at::sub(a, b); return d.mul_(d); }
    case 8: return at::div(a, b, "floor");
    case 9: return at::remainder(a, b);
    case 10: return at::eq(a, b);
    case 11: return at::ne(a, b);
    case 12: return at::lt(a, b);
    case 13: return at::le(a, b);
    case 14: return at::gt(a, b);
    case 15: return at::ge(a, b);
    case 16: return at::logical_and(a, b);
    case 17: return at::logical_or(a, b);
    case 18: return at::atan2(a, b);
    case 19: return at::where(at::lt(a, 0), at::mul(a, b), a);  // prelu(x, alpha)
  }
  throw std::invalid_argument("unknown binary op " + std::to_string(code));
}

Napi::Value Unary(const Napi::CallbackInfo& info) {
  return guarded(info, "unary", [&] { return slotValue(info, unary(i32(info, 0), tensor(info, 1))); });
}

Napi::Value Binary(const Napi::CallbackInfo& info) {
  return guarded(info, "binary", [&] { return slotValue(info, binary(i32(info, 0), tensor(info, 1), tensor(info, 2))); });
}

// step(x, alpha): 1 where x > 0, alpha elsewhere, NaN kept.
Napi::Value Step(const Napi::CallbackInfo& info) {
  return guarded(info, "step", [&] {
    const at::Tensor& x = tensor(info, 0);
    double alpha = f64(info, 1);
    // 1 where x > 0, alpha elsewhere, NaN stays NaN; a cast and an affine map (vectorised) rather
    // than where() with scalar operands, which measured 20x slower than the ReLU it differentiates.
    auto y = at::gt(x, 0).to(x.scalar_type());
    if (alpha != 0) y.mul_(1 - alpha).add_(alpha);
    if (x.is_floating_point()) {
      auto nan = at::isnan(x);
      // On a GPU, asking whether any is NaN would wait for the device: select unconditionally.
      if (!x.device().is_cpu()) y = at::where(nan, x, y);
      else if (nan.any().item<bool>()) y.masked_fill_(nan, std::numeric_limits<double>::quiet_NaN());
    }
    return slotValue(info, y);
  });
}

Napi::Value LeakyRelu(const Napi::CallbackInfo& info) {
  return guarded(info, "leakyRelu", [&] {
    const at::Tensor& x = tensor(info, 0);
    double alpha = f64(info, 1);
    if (alpha >= 0 && alpha <= 1) return slotValue(info, at::leaky_relu(x, alpha));
    return slotValue(info, at::where(at::lt(x, 0), at::mul(x, alpha), x));
  });
}

Napi::Value Clip(const Napi::CallbackInfo& info) {
  return guarded(info, "clip", [&] { return slotValue(info, at::clamp(tensor(info, 0), f64(info, 1), f64(info, 2))); });
}

// eluGrad(dy, y): dy where y >= 0, dy * (y + 1) elsewhere.
Napi::Value EluGrad(const Napi::CallbackInfo& info) {
  return guarded(info, "eluGrad", [&] {
    const at::Tensor& dy = tensor(info, 0);
    const at::Tensor& y = tensor(info, 1);
    return slotValue(info, at::where(at::lt(y, 0), at::mul(dy, at::add(y, 1)), dy));
  });
}

Napi::Value Cast(const Napi::CallbackInfo& info) {
  return guarded(info, "cast", [&] {
    const at::Tensor& x = tensor(info, 0);
    auto st = scalarType(i32(info, 1));
    if (x.scalar_type() == st) return slotValue(info, x.alias());
    return slotValue(info, x.to(st));
  });
}

// Reduction codes (kernels.ts: REDUCE): sum, mean, max, min, prod, any, all.
Napi::Value Reduce(const Napi::CallbackInfo& info) {
  return guarded(info, "reduce", [&] {
    int32_t code = i32(info, 0);
    const at::Tensor& x = tensor(info, 1);
    auto axes = ints(info, 2);
    bool keep = flag(info, 3);
    at::IntArrayRef dims(axes);
    switch (code) {
      case 0: return slotValue(info, at::sum(x, dims, keep));
      case 1: return slotValue(info, at::mean(x, dims, keep));
      case 2: return slotValue(info, at::amax(x, dims, keep));
      case 3: return slotValue(info, at::amin(x, dims, keep));
      case 4: {
        at::Tensor y = x;
        // prod takes one dim at a time; reduce from the last axis so earlier indices hold.
        auto sorted = axes;
        std::sort(sorted.begin(), sorted.end());
        for (auto it = sorted.rbegin(); it != sorted.rend(); ++it) y = at::prod(y, *it, keep);
        return slotValue(info, y);
      }
      case 5: case 6: {
        at::Tensor y = x.to(at::kBool);
        auto sorted = axes;
        std::sort(sorted.begin(), sorted.end());
        for (auto it = sorted.rbegin(); it != sorted.rend(); ++it) y = code == 5 ? at::any(y, *it, keep) : at::all(y, *it, keep);
        return slotValue(info, y);
      }
    }
    throw std::invalid_argument("unknown reduction " + std::to_string(code));
  });
}

Napi::Value ArgReduce(const Napi::CallbackInfo& info) {
  return guarded(info, "argReduce", [&] {
    int32_t code = i32(info, 0);
    const at::Tensor& x = tensor(info, 1);
    int64_t axis = i32(info, 2);
    return slotValue(info, code == 0 ? at::argmax(x, axis) : at::argmin(x, axis));
  });
}

Napi::Value Cumsum(const Napi::CallbackInfo& info) {
  return guarded(info, "cumsum", [&] {
    at::Tensor x = tensor(info, 0);
    int64_t axis = i32(info, 1);
    bool exclusive = flag(info, 2), reverse = flag(info, 3);
    if (reverse) x = at::flip(x, {axis});
    at::Tensor y = at::cumsum(x, axis);
    if (x.scalar_type() == at::kInt) y = y.to(at::kInt);
    if (exclusive) y = at::sub(y, x);
    if (reverse) y = at::flip(y, {axis});
    return slotValue(info, y);
  });
}

Napi::Value Softmax(const Napi::CallbackInfo& info) {
  return guarded(info, "softmax", [&] { return slotValue(info, at::softmax(tensor(info, 0), i32(info, 1))); });
}

Napi::Value LogSoftmax(const Napi::CallbackInfo& info) {
  return guarded(info, "logSoftmax", [&] { return slotValue(info, at::log_softmax(tensor(info, 0), i32(info, 1))); });
}

Napi::Value Reshape(const Napi::CallbackInfo& info) {
  return guarded(info, "reshape", [&] { return slotValue(info, at::reshape(tensor(info, 0), ints(info, 1))); });
}

Napi::Value Transpose(const Napi::CallbackInfo& info) {
  return guarded(info, "transpose", [&] { return slotValue(info, tensor(info, 0).permute(ints(info, 1))); });
}

// slice(x, begin, size): a view.
Napi::Value Slice(const Napi::CallbackInfo& info) {
  return guarded(info, "slice", [&] {
    at::Tensor y = tensor(info, 0);
    auto begin = ints(info, 1), size = ints(info, 2);
    for (size_t d = 0; d < begin.size(); d++) {
      if (begin[d] != 0 || size[d] != y.size(d)) y = y.narrow(static_cast<int64_t>(d), begin[d], size[d]);
    }
    return slotValue(info, y.alias());
  });
}

// stridedSlice(x, begin, end, strides) after tfjs has resolved the masks: positive strides
// are views, negative ones flip first.
Napi::Value StridedSlice(const Napi::CallbackInfo& info) {
  return guarded(info, "stridedSlice", [&] {
    at::Tensor y = tensor(info, 0);
    auto begin = ints(info, 1), end = ints(info, 2), strides = ints(info, 3);
    for (size_t d = 0; d < begin.size(); d++) {
      int64_t n = y.size(d), b = begin[d], e = end[d], s = strides[d];
      if (s > 0) {
        b = std::max<int64_t>(0, std::min(b, n));
        e = std::max<int64_t>(b, std::min(e, n));
        y = y.slice(static_cast<int64_t>(d), b, e, s);
      } else {
        // Elements b, b+s, ... while > e: in flipped coordinates (n-1-i) that is a positive stride.
        int64_t fb = n - 1 - std::min(b, n - 1);
        int64_t fe = n - 1 - std::max<int64_t>(e, -1);
        y = at::flip(y, {static_cast<int64_t>(d)});
        fb = std::max<int64_t>(0, fb);
        fe = std::max<int64_t>(fb, std::min(fe, n));
        y = y.slice(static_cast<int64_t>(d), fb, fe, -s);
      }
    }
    return slotValue(info, y.alias());
  });
}

Napi::Value Concat(const Napi::CallbackInfo& info) {
  return guarded(info, "concat", [&] { return slotValue(info, at::cat(tensors(info, 0), i32(info, 1))); });
}

Napi::Value Stack(const Napi::CallbackInfo& info) {
  return guarded(info, "stack", [&] { return slotValue(info, at::stack(tensors(info, 0), i32(info, 1))); });
}

Napi::Value Unstack(const Napi::CallbackInfo& info) {
  return guarded(info, "unstack", [&] {
    auto parts = at::unbind(tensor(info, 0), i32(info, 1));
    return slotArray(info, std::vector<at::Tensor>(parts.begin(), parts.end()));
  });
}

Napi::Value Split(const Napi::CallbackInfo& info) {
  return guarded(info, "split", [&] {
    auto parts = at::split_with_sizes(tensor(info, 0), ints(info, 1), i32(info, 2));
    return slotArray(info, std::vector<at::Tensor>(parts.begin(), parts.end()));
  });
}

// pad(x, [before0, after0, before1, after1, ...], value)
Napi::Value Pad(const Napi::CallbackInfo& info) {
  return guarded(info, "pad", [&] {
    const at::Tensor& x = tensor(info, 0);
    auto p = ints(info, 1);
    double value = f64(info, 2);
    // constant_pad_nd lists pairs from the last axis backwards.
    std::vector<int64_t> rev;
    for (int64_t d = x.dim() - 1; d >= 0; d--) {
      rev.push_back(p[2 * d]);
      rev.push_back(p[2 * d + 1]);
    }
    // Trailing axes without padding can be left out.
    while (rev.size() >= 2 && rev[rev.size() - 1] == 0 && rev[rev.size() - 2] == 0) rev.resize(rev.size() - 2);
    if (rev.empty()) return slotValue(info, x.alias());
    return slotValue(info, at::constant_pad_nd(x, rev, value));
  });
}

// Index of the padded position i along an axis of n cells (reflect skips the edge cell).
at::Tensor mirrorIndex(int64_t n, int64_t before, int64_t after, bool reflect, const at::TensorOptions& o) {
  auto i = at::arange(-before, n + after, o.dtype(at::kLong));
  if (reflect) {
    // -k -> k, n-1+k -> n-1-k
    i = at::where(at::lt(i, 0), at::neg(i), i);
    i = at::where(at::gt(i, n - 1), at::rsub(i, 2 * (n - 1)), i);
  } else {
    i = at::where(at::lt(i, 0), at::rsub(i, -1), i);
    i = at::where(at::gt(i, n - 1), at::rsub(i, 2 * n - 1), i);
  }
  return i;
}

// mirrorPad(x, paddings as in pad, mode 0 reflect / 1 symmetric)
Napi::Value MirrorPad(const Napi::CallbackInfo& info) {
  return guarded(info, "mirrorPad", [&] {
    const at::Tensor& x = tensor(info, 0);
    auto p = ints(info, 1);
    bool reflect = i32(info, 2) == 0;
    int64_t nd = x.dim();
    auto padded = [&](int64_t d) { return p[2 * d] != 0 || p[2 * d + 1] != 0; };
    // One index_select per padded axis: on channels-last images each copies whole rows, where
    // ATen's reflection_pad over a permuted view measured 10-90x slower (it wants channels-first).
    at::Tensor y = x;
    for (int64_t d = 0; d < nd; d++) {
      if (!padded(d)) continue;
      y = at::index_select(y, d, mirrorIndex(y.size(d), p[2 * d], p[2 * d + 1], reflect, y.options().device(y.device())));
    }
    return slotValue(info, y.alias());
  });
}

Napi::Value Reverse(const Napi::CallbackInfo& info) {
  return guarded(info, "reverse", [&] {
    auto axes = ints(info, 1);
    if (axes.empty()) return slotValue(info, tensor(info, 0).alias());
    return slotValue(info, at::flip(tensor(info, 0), axes));
  });
}

Napi::Value Tile(const Napi::CallbackInfo& info) {
  return guarded(info, "tile", [&] { return slotValue(info, tensor(info, 0).repeat(ints(info, 1))); });
}

// gather(x, indices, axis): x.shape[:axis] + indices.shape + x.shape[axis+1:]
Napi::Value Gather(const Napi::CallbackInfo& info) {
  return guarded(info, "gather", [&] {
    const at::Tensor& x = tensor(info, 0);
    const at::Tensor& idx = tensor(info, 1);
    int64_t axis = i32(info, 2);
    auto flat = at::index_select(x, axis, idx.reshape({-1}));
    std::vector<int64_t> shape(x.sizes().begin(), x.sizes().begin() + axis);
    for (auto s : idx.sizes()) shape.push_back(s);
    for (int64_t d = axis + 1; d < x.dim(); d++) shape.push_back(x.size(d));
    return slotValue(info, flat.reshape(shape));
  });
}

// where(c, t, e) for operands of one shape on the host as a plain loop over memory: libtorch
// 1.13's CPU where() measured 19 ms on 4M floats (a LeakyReLU gradient of the 3D U-Net), 44 ms
// when the operands' layouts differ (a channels-first convolution gradient beside a
// channels-last mask). Operands are brought to t's memory layout (a copy only for those not
// already in it), then element i of each is the same tensor element.
template <typename T>
at::Tensor selectSame(const at::Tensor& c, const at::Tensor& t, const at::Tensor& e) {
  at::Tensor base = t.is_non_overlapping_and_dense() ? t : t.contiguous();
  auto like = [&](const at::Tensor& x) { return x.strides() == base.strides() ? x : at::empty_like(base, x.options()).copy_(x); };
  at::Tensor cc = like(c);
  at::Tensor ec = like(e);
  auto out = at::empty_like(base);
  static_assert(sizeof(T) == 4, "a 32-bit element");
  // Branch-free on the bits (a random mask mispredicts a branch half the time), which also
  // lets the compiler vectorise it; bit-exact for every value, NaN and infinities included.
  const uint8_t* cp = reinterpret_cast<const uint8_t*>(cc.data_ptr<bool>());
  const uint32_t* tp = reinterpret_cast<const uint32_t*>(base.data_ptr<T>());
  const uint32_t* ep = reinterpret_cast<const uint32_t*>(ec.data_ptr<T>());
  uint32_t* op = reinterpret_cast<uint32_t*>(out.data_ptr<T>());
  at::parallel_for(0, out.numel(), 1 << 15, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; i++) {
      uint32_t m = 0u - static_cast<uint32_t>(cp[i] != 0);
      op[i] = (tp[i] & m) | (ep[i] & ~m);
    }
  });
  return out;
}

// select(condition, t, e); a rank-1 condition picks whole rows of higher-rank t and e.
Napi::Value Select(const Napi::CallbackInfo& info) {
  return guarded(info, "select", [&] {
    at::Tensor c = tensor(info, 0);
    const at::Tensor& t = tensor(info, 1);
    const at::Tensor& e = tensor(info, 2);
    if (c.dim() == 1 && t.dim() > 1) {
      std::vector<int64_t> s(t.dim(), 1);
      s[0] = c.size(0);
      c = c.reshape(s);
    }
    c = c.to(at::kBool);
    if (c.device().is_cpu() && c.sizes() == t.sizes() && t.sizes() == e.sizes() && t.scalar_type() == e.scalar_type() &&
        (t.scalar_type() == at::kFloat || t.scalar_type() == at::kInt)) {
      return slotValue(info, t.scalar_type() == at::kFloat ? selectSame<float>(c, t, e) : selectSame<int32_t>(c, t, e));
    }
    return slotValue(info, at::where(c, t, e));
  });
}

// oneHot(indices, depth, on, off, dtype): indices outside [0, depth) give a row of `off`.
Napi::Value OneHot(const Napi::CallbackInfo& info) {
  return guarded(info, "oneHot", [&] {
    const at::Tensor& idx = tensor(info, 0);
    int64_t depth = i32(info, 1);
    double on = f64(info, 2), off = f64(info, 3);
    auto st = scalarType(i32(info, 4));
    auto hit = at::eq(idx.unsqueeze(-1).to(at::kLong), at::arange(depth, idx.options().dtype(at::kLong)));
    return slotValue(info, at::where(hit, at::full({}, on, idx.options().dtype(st)), at::full({}, off, idx.options().dtype(st))));
  });
}

Napi::Value MatMul(const Napi::CallbackInfo& info) {
  return guarded(info, "matMul", [&] {
    at::Tensor a = tensor(info, 0), b = tensor(info, 1);
    if (flag(info, 2)) a = a.transpose(-1, -2);
    if (flag(info, 3)) b = b.transpose(-1, -2);
    return slotValue(info, at::matmul(a, b));
  });
}

// unsortedSegmentSum(x, ids, n): rows of x added into their segment; ids outside [0, n) dropped.
Napi::Value SegmentSum(const Napi::CallbackInfo& info) {
  return guarded(info, "unsortedSegmentSum", [&] {
    const at::Tensor& x = tensor(info, 0);
    const at::Tensor& ids = tensor(info, 1);
    int64_t n = i32(info, 2);
    auto id = ids.to(at::kLong).reshape({-1});
    auto rows = x.reshape({id.size(0), -1});
    auto valid = at::logical_and(at::ge(id, 0), at::lt(id, n));
    id = at::where(valid, id, at::full({}, n, id.options()));
    auto out = at::zeros({n + 1, rows.size(1)}, x.options());
    out.index_add_(0, id, rows);
    std::vector<int64_t> shape{n};
    for (int64_t d = ids.dim(); d < x.dim(); d++) shape.push_back(x.size(d));
    return slotValue(info, out.narrow(0, 0, n).reshape(shape));
  });
}

Napi::Value AddN(const Napi::CallbackInfo& info) {
  return guarded(info, "addN", [&] {
    auto ts = tensors(info, 0);
    at::Tensor y = ts[0].clone(at::MemoryFormat::Preserve);
    for (size_t k = 1; k < ts.size(); k++) y.add_(ts[k]);
    return slotValue(info, y);
  });
}

Napi::Value Fill(const Napi::CallbackInfo& info) {
  return guarded(info, "fill", [&] { return slotValue(info, at::full(ints(info, 0), f64(info, 1), opts(scalarType(i32(info, 2))))); });
}

Napi::Value Range(const Napi::CallbackInfo& info) {
  return guarded(info, "range", [&] {
    double start = f64(info, 0), stop = f64(info, 1), step = f64(info, 2);
    auto st = scalarType(i32(info, 3));
    int64_t n = static_cast<int64_t>(std::max(0.0, std::ceil((stop - start) / step)));
    // start + k * step in double, then cast: as tfjs computes it.
    auto k = at::arange(n, opts(at::kDouble));
    return slotValue(info, k.mul_(step).add_(start).to(st));
  });
}

// Normalisation statistics reduce over `axes` in place, with no transposing copy: ATen's mean
// over a non-innermost axis is a vectorised sum (the channels-last case, [n, spatial, c] with
// the spatial axes reduced), where var_mean's Welford pass there was 20x slower. The variance is
// two-pass (mean of the centred squares), as exact as var_mean and free of E[x^2] - E[x]^2's
// cancellation.
struct Moments {
  at::Tensor centred, rstd;
};

// Mean over `axes`, kept as size-1 axes. When the innermost axis is reduced with others (group
// norm's [n, spatial, groups, channels of a group]), the outer axes go first, a reduction
// vectorised along the contiguous inner axes, then the few inner values: ATen's one-call
// reduction with a short innermost axis measured 10x slower. Equal counts make the mean of
// means the mean.
at::Tensor meanOver(const at::Tensor& x, std::vector<int64_t> axes) {
  int64_t last = x.dim() - 1;
  for (auto& a : axes) if (a < 0) a += x.dim();
  auto it = std::find(axes.begin(), axes.end(), last);
  if (it == axes.end() || axes.size() == 1) return at::mean(x, axes, /*keepdim=*/true);
  axes.erase(it);
  return at::mean(at::mean(x, axes, true), {last}, true);
}

// A statistic (size 1 on the reduced axes) made contiguous over the axes after the innermost
// kept one, so that broadcasting it over x has a contiguous inner loop: a [1,1,1,G,1] operand
// against [N,H,W,G,Cg] leaves an inner loop of Cg (4) elements, measured 15x slower than a
// [1,1,1,G,Cg] one. Instance norm's [1,1,1,C] statistics are already that way.
at::Tensor spread(const at::Tensor& stat, const at::Tensor& x) {
  int64_t nd = x.dim(), k = nd - 1;
  while (k >= 0 && stat.size(k) == 1 && x.size(k) != 1) k--;
  if (k == nd - 1 || k < 0) return stat;
  auto sizes = stat.sizes().vec();
  for (int64_t d = k + 1; d < nd; d++) sizes[d] = x.size(d);
  return stat.expand(sizes).contiguous();
}

Moments moments(const at::Tensor& x, const std::vector<int64_t>& axes, double eps) {
  auto centred = at::sub(x, spread(meanOver(x, axes), x));
  auto var = meanOver(at::mul(centred, centred), axes);
  return {centred, spread(at::rsqrt(var.add_(eps)), x)};
}

// normalise(x, axes, eps): (x - mean) / sqrt(var + eps), mean and (biased) variance over
// `axes` of each slice: instance norm (spatial axes) and group norm (spatial + channels of a group).
Napi::Value Normalise(const Napi::CallbackInfo& info) {
  return guarded(info, "normalise", [&] {
    Moments m = moments(tensor(info, 0), ints(info, 1), f64(info, 2));
    return slotValue(info, m.centred.mul_(m.rstd));
  });
}

// normaliseGrad(dy, x, axes, eps): the gradient of normalise with respect to x,
// rstd * (dy - mean(dy) - xhat * mean(dy * xhat)) with xhat = d * rstd, d = x - mean(x);
// written as rstd * dy - rstd^3 * mean(dy * d) * d - rstd * mean(dy): two reductions, one pass.
Napi::Value NormaliseGrad(const Napi::CallbackInfo& info) {
  return guarded(info, "normaliseGrad", [&] {
    const at::Tensor& dy = tensor(info, 0);
    auto axes = ints(info, 2);
    Moments m = moments(tensor(info, 1), axes, f64(info, 3));
    auto mdy = spread(meanOver(dy, axes), dy);
    auto mdyd = spread(meanOver(at::mul(dy, m.centred), axes), dy);
    auto r2 = at::mul(m.rstd, m.rstd);
    auto out = at::mul(dy, m.rstd);
    out.addcmul_(m.centred, mdyd.mul_(r2).mul_(m.rstd).neg_());
    return slotValue(info, out.sub_(mdy.mul_(m.rstd)));
  });
}

// adam(param, expAvg, expAvgSq, grad, beta1, beta2, eps, stepSize, bc2Sqrt) -> [param, expAvg,
// expAvgSq]: one Adam update in torch.optim.Adam's own order of operations (the bias corrections
// come from the caller in double precision), new tensors rather than in place, since tfjs may
// share a variable's data with other tensors.
Napi::Value Adam(const Napi::CallbackInfo& info) {
  return guarded(info, "adam", [&] {
    const at::Tensor& p = tensor(info, 0);
    const at::Tensor& g = tensor(info, 3);
    double b1 = f64(info, 4), b2 = f64(info, 5), eps = f64(info, 6), stepSize = f64(info, 7), bc2Sqrt = f64(info, 8);
    auto m = at::mul(tensor(info, 1), b1).add_(g, 1 - b1);
    auto v = at::mul(tensor(info, 2), b2).addcmul_(g, g, 1 - b2);
    auto denom = at::sqrt(v).div_(bc2Sqrt).add_(eps);
    return slotArray(info, {at::addcdiv(p, m, denom, -stepSize), m, v});
  });
}

}  // namespace

void registerOps(Napi::Env env, Napi::Object exports) {
  exports.Set("unary", Napi::Function::New(env, Unary));
  exports.Set("binary", Napi::Function::New(env, Binary));
  exports.Set("step", Napi::Function::New(env, Step));
  exports.Set("leakyRelu", Napi::Function::New(env, LeakyRelu));
  exports.Set("clip", Napi::Function::New(env, Clip));
  exports.Set("eluGrad", Napi::Function::New(env, EluGrad));
  exports.Set("cast", Napi::Function::New(env, Cast));
  exports.Set("reduce", Napi::Function::New(env, Reduce));
  exports.Set("argReduce", Napi::Function::New(env, ArgReduce));
  exports.Set("cumsum", Napi::Function::New(env, Cumsum));
  exports.Set("softmax", Napi::Function::New(env, Softmax));
  exports.Set("logSoftmax", Napi::Function::New(env, LogSoftmax));
  exports.Set("reshape", Napi::Function::New(env, Reshape));
  exports.Set("transpose", Napi::Function::New(env, Transpose));
  exports.Set("slice", Napi::Function::New(env, Slice));
  exports.Set("stridedSlice", Napi::Function::New(env, StridedSlice));
  exports.Set("concat", Napi::Function::New(env, Concat));
  exports.Set("stack", Napi::Function::New(env, Stack));
  exports.Set("unstack", Napi::Function::New(env, Unstack));
  exports.Set("split", Napi::Function::New(env, Split));
  exports.Set("pad", Napi::Function::New(env, Pad));
  exports.Set("mirrorPad", Napi::Function::New(env, MirrorPad));
  exports.Set("reverse", Napi::Function::New(env, Reverse));
  exports.Set("tile", Napi::Function::New(env, Tile));
  exports.Set("gather", Napi::Function::New(env, Gather));
  exports.Set("select", Napi::Function::New(env, Select));
  exports.Set("oneHot", Napi::Function::New(env, OneHot));
  exports.Set("matMul", Napi::Function::New(env, MatMul));
  exports.Set("unsortedSegmentSum", Napi::Function::New(env, SegmentSum));
  exports.Set("addN", Napi::Function::New(env, AddN));
  exports.Set("fill", Napi::Function::New(env, Fill));
  exports.Set("range", Napi::Function::New(env, Range));
  exports.Set("normalise", Napi::Function::New(env, Normalise));
  exports.Set("normaliseGrad", Napi::Function::New(env, NormaliseGrad));
  exports.Set("adam", Napi::Function::New(env, Adam));
}

}  // namespace ut
