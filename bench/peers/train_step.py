"""PyTorch peer of `npm run bench -- train`: times whole training steps of the methods as the
kit runs them (same networks from torch_nets.py, same losses and optimiser settings):
cyclegan, cut and syndiff (syndiff_step.py) in 2D, intrastyler and the segmenter in 3D. Prints
one JSON object."""
import argparse
import json
import statistics
import time

import torch
import torch.nn.functional as F

from torch_nets import PatchMLP, ResnetGenerator, StyleEncoder, UNet, init_weights, patch_gan, patch_nce


def lsgan(pred, real):
    return F.mse_loss(pred, torch.ones_like(pred) if real else torch.zeros_like(pred))


def adam(params, lr=2e-4, betas=(0.5, 0.999)):
    return torch.optim.Adam(params, lr=lr, betas=betas)


def cyclegan(a):
    d = a.dims
    ga, gb = (init_weights(ResnetGenerator(d, 1, 1, a.ngf, a.blocks)) for _ in range(2))
    da, db = (init_weights(patch_gan(d, 1, a.ndf)) for _ in range(2))
    og, od = adam(list(ga.parameters()) + list(gb.parameters())), adam(list(da.parameters()) + list(db.parameters()))
    shape = (1, 1, *a.size)

    def step():
        ra, rb = torch.randn(shape).tanh(), torch.randn(shape).tanh()
        fb, fa = ga(ra), gb(rb)
        rec_a, rec_b = gb(fb), ga(fa)
        for p in list(da.parameters()) + list(db.parameters()):
            p.requires_grad_(False)
        og.zero_grad()
        loss = (lsgan(da(fb), True) + lsgan(db(fa), True) + 10 * F.l1_loss(rec_a, ra) + 10 * F.l1_loss(rec_b, rb)
                + 5 * F.l1_loss(ga(rb), rb) + 5 * F.l1_loss(gb(ra), ra))
        loss.backward()
        og.step()
        for p in list(da.parameters()) + list(db.parameters()):
            p.requires_grad_(True)
        od.zero_grad()
        ld = 0.5 * (lsgan(da(rb), True) + lsgan(da(fb.detach()), False)) + 0.5 * (lsgan(db(ra), True) + lsgan(db(fa.detach()), False))
        ld.backward()
        od.step()
    return step


def cut_like(a, style):
    d = a.dims
    cond = 256 if style else 0
    g = init_weights(ResnetGenerator(d, 1, 1, a.ngf, a.blocks, cond=cond, antialias=True), "xavier")
    import math
    layers_fit = max(1, min(3, int(math.floor(math.log2(min(a.size) / 3)))))  # as the kit's config clamps
    disc = init_weights(patch_gan(d, 1, a.ndf, layers_fit), "xavier")
    layers = [0, 4, 8, 12, 16]
    chans = [1, a.ngf * 2, a.ngf * 4, a.ngf * 4, a.ngf * 4]
    mlp = init_weights(PatchMLP(chans), "xavier")
    enc = init_weights(StyleEncoder(d, 1, a.style_base), "xavier") if style else None
    gparams = list(g.parameters()) + list(mlp.parameters()) + (list(enc.parameters()) if style else [])
    og, od = adam(gparams), adam(disc.parameters())
    shape = (1, 1, *a.size)
    # The style crop halves the in-plane axes (tensor order: depth kept, height and width halved).
    crop = (1, 1, a.size[0], a.size[1] // 2, a.size[2] // 2) if d == 3 else (1, 1, a.size[0] // 2, a.size[1] // 2)

    def nce(src, tgt):
        fk, ids = mlp(g.encode(src, layers), 256)
        fq, _ = mlp(g.encode(tgt, layers), 256, ids)
        return sum(patch_nce(q, k, 1) for q, k in zip(fq, fk)) / len(layers)

    def step():
        ra, rb = torch.randn(shape).tanh(), torch.randn(shape).tanh()
        s = enc(rb) if style else None
        real = torch.cat([ra, rb], 0)
        fake = g(real, None if s is None else s.expand(2, -1))
        fb, idt = fake[:1], fake[1:]
        od.zero_grad()
        ld = 0.5 * (lsgan(disc(fb.detach()), False) + lsgan(disc(rb), True))
        ld.backward()
        od.step()
        og.zero_grad()
        loss = lsgan(disc(fb), True) + 0.5 * (nce(ra, fb) + nce(rb, idt))
        if style:
            stack = torch.randn((2 + a.negatives, *crop[1:])).tanh()
            e = enc(stack)
            logits = torch.cat([(e[0:1] * e[1:2]).sum(1, keepdim=True), e[0:1] @ e[2:].t()], 1) / 0.01
            loss = loss + 5 * F.cross_entropy(logits, torch.zeros(1, dtype=torch.long))
            loss = loss + 5 * (1 - (enc(fb) * s.detach()).sum(1)).mean()
        loss.backward()
        og.step()
    return step


def segmenter(a):
    net = init_weights(UNet(a.dims, 1, 4, a.base, a.depth), "kaiming")
    opt = adam(net.parameters(), lr=1e-3, betas=(0.9, 0.999))
    shape = (2, 1, *a.size)

    def step():
        x = torch.randn(shape)
        y = torch.randint(0, 4, (2, *a.size))
        logits = net(x)
        p = logits.softmax(1)
        g = F.one_hot(y, 4).movedim(-1, 1).float()
        axes = (0, *range(2, 2 + a.dims))
        inter, den = (p * g).sum(axes), p.sum(axes) + g.sum(axes)
        dice = 1 - ((2 * inter + 1e-5) / (den + 1e-5))[1:].mean()
        loss = dice + F.cross_entropy(logits, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return step


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--method", choices=("cyclegan", "cut", "intrastyler", "segmenter", "syndiff"), required=True)
    p.add_argument("--dims", type=int, choices=(2, 3), required=True)
    p.add_argument("--size", type=int, nargs="+", required=True)
    p.add_argument("--ngf", type=int, default=32)
    p.add_argument("--ndf", type=int, default=64)
    p.add_argument("--blocks", type=int, default=6)
    p.add_argument("--style-base", type=int, default=16)
    p.add_argument("--negatives", type=int, default=12)
    p.add_argument("--base", type=int, default=16)
    p.add_argument("--depth", type=int, default=4)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--syndiff", default="{}", help="syndiff: the kit's resolved config as JSON")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    p.add_argument("--profile", action="store_true", help="print torch.profiler's table of one more step to stderr")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    cuda = a.device.startswith("cuda")
    if cuda:
        # Factories (parameters, random batches) then make CUDA tensors without touching the nets.
        torch.set_default_tensor_type("torch.cuda.FloatTensor")
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    torch.manual_seed(0)
    step = {"cyclegan": cyclegan, "cut": lambda a: cut_like(a, False), "intrastyler": lambda a: cut_like(a, True), "segmenter": segmenter,
            "syndiff": lambda a: __import__("syndiff_step").build(a, json.loads(a.syndiff))}[a.method](a)
    for _ in range(a.warmup):
        step()
    sync()
    times = []
    for _ in range(a.steps):
        t0 = time.perf_counter()
        step()
        sync()
        times.append((time.perf_counter() - t0) * 1000)
    if a.profile:
        import sys
        with torch.profiler.profile() as prof:
            step()
            sync()
        print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=30), file=sys.stderr)
    print(json.dumps({"median_ms": statistics.median(times), "times_ms": times, "torch": torch.__version__, "threads": torch.get_num_threads(), "device": a.device}))


if __name__ == "__main__":
    main()
