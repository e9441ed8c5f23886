"""PyTorch peer of `npm run bench -- engine`: times training steps (forward, L1 loss, backward,
Adam update) of the CycleGAN ResNet generator, laid out as bench/nets/resnetGenerator.ts
builds it, in 2D or 3D. Prints one JSON object. Run with Debian's python3-torch."""
import argparse
import json
import statistics
import time

import torch
import torch.nn as nn


def norm(dims, c):
    return (nn.InstanceNorm2d if dims == 2 else nn.InstanceNorm3d)(c, affine=False, eps=1e-5)


def conv(dims, *a, **k):
    return (nn.Conv2d if dims == 2 else nn.Conv3d)(*a, **k)


def reflect(dims, p):
    return (nn.ReflectionPad2d if dims == 2 else nn.ReflectionPad3d)(p)


class ResBlock(nn.Module):
    def __init__(self, dims, c):
        super().__init__()
        self.body = nn.Sequential(
            reflect(dims, 1), conv(dims, c, c, 3), norm(dims, c), nn.ReLU(True),
            reflect(dims, 1), conv(dims, c, c, 3), norm(dims, c))

    def forward(self, x):
        return x + self.body(x)


def generator(dims, cin, cout, ngf, blocks):
    convT = nn.ConvTranspose2d if dims == 2 else nn.ConvTranspose3d
    layers = [reflect(dims, 3), conv(dims, cin, ngf, 7), norm(dims, ngf), nn.ReLU(True)]
    for m in (1, 2):
        layers += [conv(dims, ngf * m, ngf * m * 2, 3, stride=2, padding=1), norm(dims, ngf * m * 2), nn.ReLU(True)]
    layers += [ResBlock(dims, ngf * 4) for _ in range(blocks)]
    for m in (4, 2):
        layers += [convT(ngf * m, ngf * m // 2, 3, stride=2, padding=1, output_padding=1),
                   norm(dims, ngf * m // 2), nn.ReLU(True)]
    layers += [reflect(dims, 3), conv(dims, ngf, cout, 7), nn.Tanh()]
    net = nn.Sequential(*layers)
    for mod in net.modules():
        if isinstance(mod, (nn.Conv2d, nn.Conv3d, nn.ConvTranspose2d, nn.ConvTranspose3d)):
            nn.init.normal_(mod.weight, 0.0, 0.02)
            nn.init.zeros_(mod.bias)
    return net


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--dims", type=int, choices=(2, 3), required=True)
    p.add_argument("--size", type=int, nargs="+", required=True, help="spatial size, e.g. 128 128 or 32 64 64")
    p.add_argument("--ngf", type=int, required=True)
    p.add_argument("--blocks", type=int, required=True)
    p.add_argument("--channels", type=int, default=1)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    net = generator(a.dims, a.channels, a.channels, a.ngf, a.blocks)
    opt = torch.optim.Adam(net.parameters(), lr=2e-4, betas=(0.5, 0.999), eps=1e-8)
    x = torch.randn(1, a.channels, *a.size)
    target = torch.rand(1, a.channels, *a.size) * 2 - 1
    times = []
    for i in range(a.warmup + a.steps):
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = (net(x) - target).abs().mean()
        loss.backward()
        opt.step()
        loss.item()
        if i >= a.warmup:
            times.append((time.perf_counter() - t0) * 1000)
    print(json.dumps({
        "peer": "pytorch", "torch": torch.__version__, "threads": torch.get_num_threads(),
        "median_ms": statistics.median(times), "times_ms": times,
        "params": sum(q.numel() for q in net.parameters()),
    }))


if __name__ == "__main__":
    main()
