"""Peer for the model end-to-end test: builds each network the kit wrote with torch.nn, in the
PyTorch references' layouts and parameter names (CycleGAN/CUT ResnetGenerator and
NLayerDiscriminator, IntraStyler's StyleEncoder and DIN, an nnU-Net-style U-Net), loads the
kit's weights by name (strict: every name must exist on both sides), runs the forward pass in
float32 and writes the output.

Usage: torch_models.py DIR. DIR holds one folder per case with index.json:
  {"kind": ..., "arch": {...}, "params": [{"name", "shape", "file"}], "input": {"shape", "file"},
   "cond": {"shape", "file"} (optional)}
and raw little-endian float32 files in the kit's layouts (channels-last tensors; conv filters
[k.., in, out]; transposed-conv filters [k.., out, in]; linear weights [in, out]). Writes
output.f32 (channels-last) and output.json ({"shape"}) into each case folder.
"""
import json
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_grad_enabled(False)


def ops(d):
    return {
        "conv": nn.Conv2d if d == 2 else nn.Conv3d,
        "convT": nn.ConvTranspose2d if d == 2 else nn.ConvTranspose3d,
        "refl": nn.ReflectionPad2d if d == 2 else nn.ReflectionPad3d,
        "inorm": nn.InstanceNorm2d if d == 2 else nn.InstanceNorm3d,
        "pool": nn.AdaptiveAvgPool2d if d == 2 else nn.AdaptiveAvgPool3d,
    }


def make_norm(d, kind, c):
    if kind == "none":
        return nn.Identity()
    return ops(d)["inorm"](c, affine=(kind == "instance-affine"), track_running_stats=False)


class ResnetBlock(nn.Module):
    """CycleGAN's ResnetBlock: x + [refl 1, conv 3, norm, ReLU, refl 1, conv 3, norm](x)."""

    def __init__(self, d, c, norm, bias):
        super().__init__()
        o = ops(d)
        self.conv_block = nn.Sequential(
            o["refl"](1), o["conv"](c, c, 3, bias=bias), make_norm(d, norm, c), nn.ReLU(True),
            o["refl"](1), o["conv"](c, c, 3, bias=bias), make_norm(d, norm, c))

    def forward(self, x):
        return x + self.conv_block(x)


class Downsample(nn.Module):
    """CUT's anti-aliasing Downsample: reflection pad 1, depthwise [1,2,1]^d / sum, stride 2."""

    def __init__(self, d, c):
        super().__init__()
        self.d = d
        a = torch.tensor([1.0, 2.0, 1.0])
        f = a[:, None] * a[None, :]
        if d == 3:
            f = f[:, :, None] * a[None, None, :]
        f = f / f.sum()
        self.register_buffer("filt", f[None, None].repeat((c,) + (1,) * (d + 1)), persistent=False)

    def forward(self, x):
        x = F.pad(x, [1, 1] * self.d, mode="reflect")
        conv = F.conv2d if self.d == 2 else F.conv3d
        return conv(x, self.filt, stride=2, groups=x.shape[1])


class LinearUpsample(nn.Module):
    """The kit's BlurUpsample, written independently: per axis out[2i] = x[i],
    out[2i+1] = (x[i] + x[i+1]) / 2 with the last voxel repeated."""

    def __init__(self, d):
        super().__init__()
        self.d = d

    def forward(self, x):
        for axis in range(2, 2 + self.d):
            n = x.shape[axis]
            ext = torch.cat([x, x.narrow(axis, n - 1, 1)], axis)
            a = ext.narrow(axis, 0, n)
            mid = (a + ext.narrow(axis, 1, n)) / 2
            shape = list(x.shape)
            shape[axis] = 2 * n
            x = torch.stack([a, mid], axis + 1).reshape(shape)
        return x


class UpsampleConv(nn.Module):
    """Nearest x2, then a reflection-padded 3^d conv (the kit's resize-conv)."""

    def __init__(self, d, cin, cout, bias):
        super().__init__()
        self.conv = ops(d)["conv"](cin, cout, 3, padding=1, padding_mode="reflect", bias=bias)

    def forward(self, x):
        return self.conv(F.interpolate(x, scale_factor=2, mode="nearest"))


class DIN(nn.Module):
    """Dynamic instance norm: gamma, beta = mapping(s); gamma * IN(x) + beta."""

    def __init__(self, c, cond):
        super().__init__()
        self.c = c
        self.mapping = nn.Linear(cond, 2 * c)

    def forward(self, x, s):
        gb = self.mapping(s)
        shape = (gb.shape[0], self.c) + (1,) * (x.dim() - 2)
        gamma = gb[:, : self.c].reshape(shape)
        beta = gb[:, self.c:].reshape(shape)
        return F.instance_norm(x, eps=1e-5) * gamma + beta


class ResnetGenerator(nn.Module):
    def __init__(self, a):
        super().__init__()
        d, ngf, norm, bias = a["dims"], a["ngf"], a["norm"], a["useBias"]
        o = ops(d)
        cond = a.get("conditionDim")
        m = [o["refl"](3), o["conv"](a["inChannels"], ngf, 7, bias=bias), make_norm(d, norm, ngf), nn.ReLU(True)]
        for i in range(2):
            c = ngf * 2 ** i
            if a["antialias"]:
                m += [o["conv"](c, 2 * c, 3, stride=1, padding=1, bias=bias), make_norm(d, norm, 2 * c), nn.ReLU(True), Downsample(d, 2 * c)]
            else:
                m += [o["conv"](c, 2 * c, 3, stride=2, padding=1, bias=bias), make_norm(d, norm, 2 * c), nn.ReLU(True)]
        m += [ResnetBlock(d, 4 * ngf, norm, bias) for _ in range(a["blocks"])]
        for i in range(2):
            c = ngf * 2 ** (2 - i)
            if a["upsample"] == "transpose":
                m += [o["convT"](c, c // 2, 3, stride=2, padding=1, output_padding=1, bias=bias)]
            elif a["upsample"] == "blur":
                m += [LinearUpsample(d), o["conv"](c, c // 2, 3, stride=1, padding=1, bias=bias)]
            else:
                m += [UpsampleConv(d, c, c // 2, bias)]
            m += [DIN(c // 2, cond) if cond else make_norm(d, norm, c // 2), nn.ReLU(True)]
        m += [o["refl"](3), o["conv"](ngf, a["outChannels"], 7), nn.Tanh()]
        self.model = nn.Sequential(*m)

    def forward(self, x, cond=None):
        for layer in self.model:
            x = layer(x, cond) if isinstance(layer, DIN) else layer(x)
        return x


class NLayerDiscriminator(nn.Module):
    def __init__(self, a):
        super().__init__()
        d, ndf, n_layers, norm, bias = a["dims"], a["ndf"], a["nLayers"], a["norm"], a["useBias"]
        conv = ops(d)["conv"]
        seq = [conv(a["inChannels"], ndf, 4, stride=2, padding=1), nn.LeakyReLU(0.2, True)]
        mult = 1
        for n in range(1, n_layers):
            prev, mult = mult, min(2 ** n, 8)
            seq += [conv(ndf * prev, ndf * mult, 4, stride=2, padding=1, bias=bias), make_norm(d, norm, ndf * mult), nn.LeakyReLU(0.2, True)]
        prev, mult = mult, min(2 ** n_layers, 8)
        seq += [conv(ndf * prev, ndf * mult, 4, stride=1, padding=1, bias=bias), make_norm(d, norm, ndf * mult), nn.LeakyReLU(0.2, True)]
        seq += [conv(ndf * mult, 1, 4, stride=1, padding=1)]
        self.model = nn.Sequential(*seq)

    def forward(self, x):
        return self.model(x)


class ConvBlock(nn.Module):
    """IntraStyler's Conv3dBlock: reflection pad, conv, norm, ReLU."""

    def __init__(self, d, cin, cout, k, stride, pad, norm):
        super().__init__()
        self.pad = ops(d)["refl"](pad)
        self.conv = ops(d)["conv"](cin, cout, k, stride)
        self.norm = make_norm(d, norm, cout)

    def forward(self, x):
        return F.relu(self.norm(self.conv(self.pad(x))))


class StyleEncoder(nn.Module):
    def __init__(self, a):
        super().__init__()
        d, dim = a["dims"], a["base"]
        m = [ConvBlock(d, a["inChannels"], dim, 7, 1, 3, a["norm"])]
        for i in range(a["downsamples"]):
            out = 2 * dim if i < 2 else dim
            m += [ConvBlock(d, dim, out, 4, 2, 1, a["norm"])]
            dim = out
        m += [ops(d)["pool"](1), ops(d)["conv"](dim, a["styleDim"], 1, 1, 0)]
        self.model = nn.Sequential(*m)

    def forward(self, x):
        return F.normalize(self.model(x).view(x.shape[0], -1), p=2, dim=1)


class ConvNormAct(nn.Module):
    def __init__(self, d, cin, cout, stride):
        super().__init__()
        self.conv = ops(d)["conv"](cin, cout, 3, stride, 1)
        self.norm = ops(d)["inorm"](cout, affine=True)
        self.act = nn.LeakyReLU(0.01, True)

    def forward(self, x):
        return self.act(self.norm(self.conv(x)))


class UNet(nn.Module):
    def __init__(self, a):
        super().__init__()
        d, depth = a["dims"], a["depth"]
        c = [min(a["base"] * 2 ** l, a["maxChannels"]) for l in range(depth)]
        self.encoder = nn.Module()
        self.encoder.stages = nn.ModuleList(
            nn.Sequential(ConvNormAct(d, a["inChannels"] if l == 0 else c[l - 1], c[l], 1 if l == 0 else 2), ConvNormAct(d, c[l], c[l], 1))
            for l in range(depth))
        self.decoder = nn.Module()
        levels = list(range(depth - 2, -1, -1))
        self.decoder.transpconvs = nn.ModuleList(ops(d)["convT"](c[l + 1], c[l], 2, stride=2) for l in levels)
        self.decoder.stages = nn.ModuleList(nn.Sequential(ConvNormAct(d, 2 * c[l], c[l], 1), ConvNormAct(d, c[l], c[l], 1)) for l in levels)
        self.decoder.seg = ops(d)["conv"](c[0], a["nClasses"], 1)

    def forward(self, x):
        skips = []
        for s in self.encoder.stages:
            x = s(x)
            skips.append(x)
        for j, (up, stage) in enumerate(zip(self.decoder.transpconvs, self.decoder.stages)):
            x = stage(torch.cat([up(x), skips[-(j + 2)]], 1))
        return self.decoder.seg(x)


BUILD = {"resnet": ResnetGenerator, "patchgan": NLayerDiscriminator, "style": StyleEncoder, "unet": UNet}


def read(folder, entry):
    return np.fromfile(os.path.join(folder, entry["file"]), dtype="<f4").reshape(entry["shape"])


def to_torch_layout(a, target_shape):
    """Kit layouts to PyTorch's: [k.., in, out] (conv), [k.., out, in] (transposed conv) and
    [in, out] (linear) all become [last, second last, k..]; 1^d convs from a linear reshape."""
    if a.ndim >= 2:
        a = np.transpose(a, (a.ndim - 1, a.ndim - 2) + tuple(range(a.ndim - 2)))
    return torch.from_numpy(np.ascontiguousarray(a).reshape(target_shape))


def run_case(folder):
    spec = json.load(open(os.path.join(folder, "index.json")))
    net = BUILD[spec["kind"]](spec["arch"]).float().eval()
    targets = net.state_dict()
    state = {}
    for p in spec["params"]:
        if p["name"] not in targets:
            raise SystemExit(f"{folder}: the kit's parameter {p['name']} is not in the PyTorch layout's state_dict")
        state[p["name"]] = to_torch_layout(read(folder, p), targets[p["name"]].shape)
    net.load_state_dict(state, strict=True)
    x = torch.from_numpy(np.moveaxis(read(folder, spec["input"]), -1, 1).copy())
    args = [x]
    if "cond" in spec:
        args.append(torch.from_numpy(read(folder, spec["cond"]).copy()))
    y = net(*args).numpy()
    if y.ndim > 2:
        y = np.moveaxis(y, 1, -1)
    np.ascontiguousarray(y, dtype="<f4").tofile(os.path.join(folder, "output.f32"))
    json.dump({"shape": list(y.shape), "torch": torch.__version__}, open(os.path.join(folder, "output.json"), "w"))


if __name__ == "__main__":
    root = sys.argv[1]
    for name in sorted(os.listdir(root)):
        run_case(os.path.join(root, name))
