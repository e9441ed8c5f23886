"""PyTorch peer of the kit's SynDiff training step (lib/methods/syndiff.ts), for `npm run bench
-- train`: the same networks written plainly (the kit's ResNet generator and PatchGAN from
torch_nets.py; the NCSN++-spirit diffusive U-Net with adaptive group norm and the time-conditioned
discriminator laid out as lib/models/diffusionGenerator.ts and timeDiscriminator.ts describe),
the same VP schedule, losses, Adam settings and EMA. Used through train_step.py --method syndiff."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from torch_nets import ResnetGenerator, init_weights, patch_gan


def xavier(m, zero=False):
    for p in m.modules():
        if isinstance(p, (nn.Conv2d, nn.Linear)):
            if zero:
                nn.init.zeros_(p.weight)
            else:
                nn.init.xavier_normal_(p.weight)
            if p.bias is not None:
                nn.init.zeros_(p.bias)
    return m


def sinusoid(t, dim, max_positions=10000):
    half = dim // 2
    w = torch.exp(torch.arange(half, dtype=torch.float32) * -(math.log(max_positions) / (half - 1)))
    a = t.float()[:, None] * w[None]
    return torch.cat([a.sin(), a.cos()], 1)


class TimeEmbedding(nn.Module):
    def __init__(self, dim, hidden, out, act):
        super().__init__()
        self.dim, self.act = dim, act
        self.d0, self.d1 = xavier(nn.Linear(dim, hidden)), xavier(nn.Linear(hidden, out))

    def forward(self, t):
        return self.d1(self.act(self.d0(sinusoid(t, self.dim))))


class AdaGN(nn.Module):
    def __init__(self, c, style):
        super().__init__()
        self.c = c
        self.groups = max(1, min(c // 4, 32))
        self.style = xavier(nn.Linear(style, 2 * c))
        self.style.bias.data[:c] = 1

    def forward(self, x, z):
        g, b = self.style(z)[:, :, None, None].chunk(2, 1)
        return F.group_norm(x, self.groups, eps=1e-6) * g + b


class ResBlock(nn.Module):
    def __init__(self, cin, cout, temb, zemb, resample):
        super().__init__()
        self.resample, self.cout = resample, cout
        self.n0, self.n1 = AdaGN(cin, zemb), AdaGN(cout, zemb)
        self.c0 = xavier(nn.Conv2d(cin, cout, 3, padding=1))
        self.c1 = xavier(nn.Conv2d(cout, cout, 3, padding=1), zero=True)
        self.dense = xavier(nn.Linear(temb, cout))
        self.skip = xavier(nn.Conv2d(cin, cout, 1)) if cin != cout or resample != "none" else None

    def rs(self, x):
        if self.resample == "down":
            return F.avg_pool2d(x, 2)
        if self.resample == "up":
            return F.interpolate(x, scale_factor=2, mode="nearest")
        return x

    def forward(self, x, temb, zemb):
        h = self.rs(F.silu(self.n0(x, zemb)))
        h = self.c0(h) + self.dense(F.silu(temb))[:, :, None, None]
        h = self.c1(F.silu(self.n1(h, zemb)))
        s = self.skip(self.rs(x)) if self.skip is not None else x
        return (s + h) / math.sqrt(2)


class DiffusionGenerator(nn.Module):
    def __init__(self, cin, cout, nf, mult, nres, nz, zemb, mapping):
        super().__init__()
        temb = 4 * nf
        self.temb = TimeEmbedding(nf, temb, temb, F.silu)
        layers = [xavier(nn.Linear(nz, zemb))] + [xavier(nn.Linear(zemb, zemb)) for _ in range(mapping)]
        self.zmap = nn.ModuleList(layers)
        self.conv_in = xavier(nn.Conv2d(cin, nf, 3, padding=1))
        self.down, self.mid, self.up, self.takes = nn.ModuleList(), nn.ModuleList(), nn.ModuleList(), []
        skips, ch = [nf], nf
        for i, m in enumerate(mult):
            for _ in range(nres):
                self.down.append(ResBlock(ch, nf * m, temb, zemb, "none"))
                ch = nf * m
                skips.append(ch)
            if i != len(mult) - 1:
                self.down.append(ResBlock(ch, ch, temb, zemb, "down"))
                skips.append(ch)
        self.mid.extend([ResBlock(ch, ch, temb, zemb, "none"), ResBlock(ch, ch, temb, zemb, "none")])
        for i in reversed(range(len(mult))):
            for _ in range(nres + 1):
                self.up.append(ResBlock(ch + skips.pop(), nf * mult[i], temb, zemb, "none"))
                self.takes.append(True)
                ch = nf * mult[i]
            if i != 0:
                self.up.append(ResBlock(ch, ch, temb, zemb, "up"))
                self.takes.append(False)
        self.norm_out = nn.GroupNorm(max(1, min(ch // 4, 32)), ch, eps=1e-6)
        self.conv_out = xavier(nn.Conv2d(ch, cout, 3, padding=1), zero=True)

    def forward(self, x, t, z):
        temb = self.temb(t)
        zemb = z * torch.rsqrt((z * z).mean(1, keepdim=True) + 1e-8)
        for d in self.zmap:
            zemb = F.silu(d(zemb))
        h = self.conv_in(x)
        hs = [h]
        for b in self.down:
            h = b(h, temb, zemb)
            hs.append(h)
        for b in self.mid:
            h = b(h, temb, zemb)
        for b, takes in zip(self.up, self.takes):
            h = b(torch.cat([h, hs.pop()], 1) if takes else h, temb, zemb)
        return torch.tanh(self.conv_out(F.silu(self.norm_out(h))))


def leaky(x):
    return F.leaky_relu(x, 0.2)


class DownConvBlock(nn.Module):
    def __init__(self, cin, cout, temb):
        super().__init__()
        self.c1 = xavier(nn.Conv2d(cin, cout, 3, padding=1))
        self.c2 = xavier(nn.Conv2d(cout, cout, 3, padding=1), zero=True)
        self.dense = xavier(nn.Linear(temb, cout))
        self.skip = xavier(nn.Conv2d(cin, cout, 1, bias=False))

    def forward(self, x, temb):
        h = leaky(self.c1(leaky(x)) + self.dense(temb)[:, :, None, None])
        h = self.c2(F.avg_pool2d(h, 2))
        return (h + self.skip(F.avg_pool2d(x, 2))) / math.sqrt(2)


class TimeDiscriminator(nn.Module):
    def __init__(self, ndf, levels, temb, group=4):
        super().__init__()
        self.group = group
        self.temb = TimeEmbedding(temb, temb, temb, leaky)
        self.start = xavier(nn.Conv2d(2, 2 * ndf, 1))
        ch, blocks = 2 * ndf, []
        for i in range(levels):
            out = ndf * min(2 ** (i + 2), 8)
            blocks.append(DownConvBlock(ch, out, temb))
            ch = out
        self.blocks = nn.ModuleList(blocks)
        self.final = xavier(nn.Conv2d(ch + 1, ch, 3, padding=1), zero=True)
        self.end = xavier(nn.Linear(ch, 1))

    def forward(self, xt, t, xnext):
        temb = leaky(self.temb(t))
        h = self.start(torch.cat([xt, xnext], 1))
        for b in self.blocks:
            h = b(h, temb)
        n, c, hh, ww = h.shape
        g = min(n, self.group)
        while n % g:
            g -= 1
        std = torch.sqrt(h.view(g, -1, c, hh, ww).var(0, unbiased=False) + 1e-8).mean([1, 2, 3])
        h = torch.cat([h, std.view(-1, 1, 1, 1).repeat(g, 1, hh, ww)], 1)
        return self.end(leaky(self.final(h)).sum([2, 3]))


def schedule(T, bmin, bmax, eps=1e-3):
    s = torch.arange(T + 1, dtype=torch.float64) / T * (1 - eps) + eps
    ab = torch.exp(2 * (-0.25 * s ** 2 * (bmax - bmin) - 0.5 * s * bmin))
    betas = torch.cat([torch.tensor([1e-8], dtype=torch.float64), 1 - ab[1:] / ab[:-1]])
    a = (1 - betas).sqrt()
    a_cum = torch.cumprod(a, 0)
    pb = betas[1:]
    ac = torch.cumprod(1 - pb, 0)
    acp = torch.cat([torch.ones(1, dtype=torch.float64), ac[:-1]])
    var = pb * (1 - acp) / (1 - ac)
    f = lambda v: v.float()
    return dict(a=f(a), sig=f(betas.sqrt()), a_cum=f(a_cum), sig_cum=f((1 - a_cum ** 2).sqrt()),
                c0=f(pb * acp.sqrt() / (1 - ac)), c1=f((1 - acp) * (1 - pb).sqrt() / (1 - ac)),
                logvar=f(var.clamp(min=1e-20).log()))


def ext(v, t):
    return v[t][:, None, None, None]


def build(a, c):
    """One SynDiff training step with config c (the kit's resolved SynDiffConfig)."""
    g_nd = [init_weights(ResnetGenerator(2, 1, 1, c["ngf"], c["blocks"])) for _ in range(2)]
    layers = max(1, min(c["discriminatorLayers"], int(math.floor(math.log2(min(a.size) / 3)))))
    d_nd = [init_weights(patch_gan(2, 1, c["ndf"], layers)) for _ in range(2)]
    g_diff = [DiffusionGenerator(2, 1, c["diffChannels"], c["diffChannelMult"], c["diffResBlocks"], c["nz"], c["zEmbDim"], c["mappingLayers"]) for _ in range(2)]
    d_diff = [TimeDiscriminator(c["diffNdf"], c["diffDiscriminatorLevels"], c["tEmbDim"]) for _ in range(2)]
    gens, discs = g_nd + g_diff, d_nd + d_diff
    betas = (c["beta1"], c["beta2"])
    og = torch.optim.Adam([p for n in gens for p in n.parameters()], lr=c["lr"], betas=betas)
    od = torch.optim.Adam([p for n in discs for p in n.parameters()], lr=c["lrD"], betas=betas)
    ema = [[p.detach().clone() for p in n.parameters()] for n in gens]
    k = schedule(c["timesteps"], c["betaMin"], c["betaMax"])
    T, nz, shape = c["timesteps"], c["nz"], (1, 1, *a.size)
    step_count = [0]

    def pair(x0, t):
        xt = ext(k["a_cum"], t) * x0 + ext(k["sig_cum"], t) * torch.randn_like(x0)
        return xt, ext(k["a"], t + 1) * xt + ext(k["sig"], t + 1) * torch.randn_like(x0)

    def posterior(x0, xn, t):
        mean = ext(k["c0"], t) * x0 + ext(k["c1"], t) * xn
        mask = (t != 0).float()[:, None, None, None]
        return mean + mask * torch.exp(0.5 * ext(k["logvar"], t)) * torch.randn_like(xn)

    sp = F.softplus

    def step():
        ra, rb = torch.randn(shape).tanh(), torch.randn(shape).tanh()
        ab_, ba_, ga, gb = gens
        dna, dnb, dda, ddb = discs
        # Discriminators.
        for p in (q for n in discs for q in n.parameters()):
            p.requires_grad_(True)
        od.zero_grad()
        ta, tb = torch.randint(0, T, (1,)), torch.randint(0, T, (1,))
        xa_t, xa_n = pair(ra, ta)
        xb_t, xb_n = pair(rb, tb)
        xa_t.requires_grad_(True)
        xb_t.requires_grad_(True)
        with torch.no_grad():
            fb, fa = ab_(ra), ba_(rb)
            pa = posterior(ga(torch.cat([xa_n, fb], 1), ta, torch.randn(1, nz)), xa_n, ta)
            pb = posterior(gb(torch.cat([xb_n, fa], 1), tb, torch.randn(1, nz)), xb_n, tb)
        real_a, real_b = dda(xa_t, ta, xa_n), ddb(xb_t, tb, xb_n)
        loss = (sp(-real_a).mean() + sp(dda(pa, ta, xa_n)).mean() + sp(-real_b).mean() + sp(ddb(pb, tb, xb_n)).mean()
                + sp(-dna(ra)).mean() + sp(dna(fa)).mean() + sp(-dnb(rb)).mean() + sp(dnb(fb)).mean())
        if step_count[0] % c["r1Every"] == 0:
            r1 = 0
            for real, x in ((real_a, xa_t), (real_b, xb_t)):
                g, = torch.autograd.grad(real.sum(), x, create_graph=True)
                r1 = r1 + g.view(g.shape[0], -1).pow(2).sum(1).mean()
            loss = loss + c["r1Gamma"] / 2 * r1
        loss.backward()
        od.step()
        # Generators.
        for p in (q for n in discs for q in n.parameters()):
            p.requires_grad_(False)
        og.zero_grad()
        ta, tb = torch.randint(0, T, (1,)), torch.randint(0, T, (1,))
        _, xa_n = pair(ra, ta)
        _, xb_n = pair(rb, tb)
        fa, fb = ba_(rb), ab_(ra)
        rec_b, rec_a = ab_(fa), ba_(fb)
        x0a = ga(torch.cat([xa_n, fb], 1), ta, torch.randn(1, nz))
        x0b = gb(torch.cat([xb_n, fa], 1), tb, torch.randn(1, nz))
        loss = (sp(-dda(posterior(x0a, xa_n, ta), ta, xa_n)).mean() + sp(-ddb(posterior(x0b, xb_n, tb), tb, xb_n)).mean()
                + sp(-dna(fa)).mean() + sp(-dnb(fb)).mean()
                + c["lambdaCycle"] * (F.l1_loss(rec_a, ra) + F.l1_loss(rec_b, rb))
                + c["lambdaL1"] * (F.l1_loss(x0a, ra) + F.l1_loss(x0b, rb)))
        loss.backward()
        og.step()
        with torch.no_grad():
            for n, e in zip(gens, ema):
                for p, q in zip(n.parameters(), e):
                    q.mul_(c["emaDecay"]).add_(p, alpha=1 - c["emaDecay"])
        step_count[0] += 1
    return step
