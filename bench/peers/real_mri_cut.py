"""PyTorch peer of `npm run bench -- real-mri`: CUT in the reference's layout (anti-aliased ResNet
generator, PatchGAN, PatchNCE on layers 0,4,8,12,16 with the identity term) trained on the very
batches the kit drew (float32 files the benchmark wrote), with the kit's learning-rate rule, then
each test T1 translated slice by slice (whole axial slices, reflect-padded to a multiple of 4).
Writes translation-K.f32 beside the inputs and prints one JSON object (seconds per step, the
last losses)."""
import argparse
import json
import os
import time

import numpy as np
import torch
import torch.nn.functional as F

from torch_nets import PatchMLP, ResnetGenerator, init_weights, patch_gan, patch_nce


def lsgan(pred, real):
    return F.mse_loss(pred, torch.ones_like(pred) if real else torch.zeros_like(pred))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--dir", required=True)
    a = p.parse_args()
    meta = json.load(open(os.path.join(a.dir, "meta.json")))
    cfg = meta["config"]
    torch.manual_seed(cfg["seed"])
    size = meta["patch"]
    pa = np.fromfile(os.path.join(a.dir, "source.f32"), np.float32).reshape(-1, 1, *size)
    pb = np.fromfile(os.path.join(a.dir, "target.f32"), np.float32).reshape(-1, 1, *size)
    steps = cfg["constantSteps"] + cfg["decaySteps"]
    g = init_weights(ResnetGenerator(2, 1, 1, cfg["ngf"], cfg["blocks"], antialias=True), "xavier", cfg["initGain"])
    disc = init_weights(patch_gan(2, 1, cfg["ndf"], cfg["discriminatorLayers"]), "xavier", cfg["initGain"])
    layers = cfg["nceLayers"]
    with torch.no_grad():
        chans = [f.shape[1] for f in g.encode(torch.from_numpy(pa[:1]), layers)]
    mlp = init_weights(PatchMLP(chans), "xavier", cfg["initGain"])
    betas = (cfg["beta1"], cfg["beta2"])
    og = torch.optim.Adam(list(g.parameters()) + list(mlp.parameters()), lr=cfg["lr"], betas=betas)
    od = torch.optim.Adam(disc.parameters(), lr=cfg["lr"], betas=betas)
    n_patches, tau, lam_nce, lam_gan = cfg["numPatches"], cfg["nceTau"], cfg["lambdaNCE"], cfg["lambdaGAN"]

    def nce(src, out):
        keys, ids = mlp(g.encode(src, layers), n_patches)
        queries, _ = mlp(g.encode(out, layers), n_patches, ids)
        return sum(patch_nce(q, k, 1, tau) for q, k in zip(queries, keys)) / len(layers)

    losses = {}
    t0 = time.perf_counter()
    for s in range(steps):
        # The kit's rule: factor(s) = 1 - max(0, s + 1 - constantSteps) / (decaySteps + 1).
        factor = 1 - max(0, s + 1 - cfg["constantSteps"]) / (cfg["decaySteps"] + 1)
        for o in (og, od):
            for group in o.param_groups:
                group["lr"] = cfg["lr"] * factor
        ra, rb = torch.from_numpy(pa[s % len(pa)][None]), torch.from_numpy(pb[s % len(pb)][None])
        fake = g(torch.cat([ra, rb], 0))
        fb, idt = fake[:1], fake[1:]
        for q in disc.parameters():
            q.requires_grad_(True)
        od.zero_grad()
        ld = 0.5 * (lsgan(disc(fb.detach()), False) + lsgan(disc(rb), True))
        ld.backward()
        od.step()
        for q in disc.parameters():
            q.requires_grad_(False)
        og.zero_grad()
        lg = lam_gan * lsgan(disc(fb), True)
        ln_x, ln_y = lam_nce * nce(ra, fb), lam_nce * nce(rb, idt)
        (lg + 0.5 * (ln_x + ln_y)).backward()
        og.step()
        losses = {"D": ld.item(), "G_GAN": lg.item(), "NCE": ln_x.item(), "NCE_Y": ln_y.item()}
    seconds = time.perf_counter() - t0
    g.eval()
    with torch.no_grad():
        for e in meta["tests"]:
            nx, ny, nz = e["shape"]
            t1 = np.fromfile(os.path.join(a.dir, f"input-{e['k']}.f32"), np.float32).reshape(nz, ny, nx)
            x = F.pad(torch.from_numpy(t1)[:, None], (0, (-nx) % 4, 0, (-ny) % 4), mode="reflect")
            out = torch.cat([g(x[i:i + 8]) for i in range(0, nz, 8)])[:, 0, :ny, :nx].numpy()
            out.astype(np.float32).tofile(os.path.join(a.dir, f"translation-{e['k']}.f32"))
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "secondsPerStep": seconds / steps, "losses": losses}))


if __name__ == "__main__":
    main()
