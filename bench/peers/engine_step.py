"""PyTorch peer of `npm run bench -- engine`: times training steps (forward, L1 loss, backward,
Adam update) of the CycleGAN ResNet generator, laid out as the kit's lib/models ResnetGenerator
builds it (torch_nets.ResnetGenerator), in 2D or 3D. Prints one JSON object. Run with Debian's python3-torch."""
import argparse
import json
import statistics
import time

import torch

from torch_nets import ResnetGenerator, init_weights


def generator(dims, cin, cout, ngf, blocks):
    return init_weights(ResnetGenerator(dims, cin, cout, ngf, blocks))


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
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    cuda = a.device.startswith("cuda")
    if cuda:
        torch.set_default_tensor_type("torch.cuda.FloatTensor")
    sync = torch.cuda.synchronize if cuda else (lambda: None)
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
        sync()
        if i >= a.warmup:
            times.append((time.perf_counter() - t0) * 1000)
    print(json.dumps({
        "peer": "pytorch", "torch": torch.__version__, "threads": torch.get_num_threads(),
        "device": a.device, "median_ms": statistics.median(times), "times_ms": times,
        "params": sum(q.numel() for q in net.parameters()),
    }))


if __name__ == "__main__":
    main()
