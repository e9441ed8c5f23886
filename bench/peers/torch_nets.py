"""The kit's networks written in PyTorch with the same layouts (methods.md facts), for the
benchmarks' peers and the end-to-end parity tests: ResNet generator (optionally with dynamic
instance norm in the last two decoder norms), PatchGAN discriminator, IntraStyler style
encoder, CUT's patch MLP head and an nnU-Net-style U-Net, in 2D or 3D."""
import torch
import torch.nn as nn
import torch.nn.functional as F


def conv(dims, *a, **k):
    return (nn.Conv2d if dims == 2 else nn.Conv3d)(*a, **k)


def conv_t(dims, *a, **k):
    return (nn.ConvTranspose2d if dims == 2 else nn.ConvTranspose3d)(*a, **k)


def inorm(dims, c, affine=False):
    return (nn.InstanceNorm2d if dims == 2 else nn.InstanceNorm3d)(c, affine=affine, eps=1e-5)


def reflect(dims, p):
    return (nn.ReflectionPad2d if dims == 2 else nn.ReflectionPad3d)(p)


class ResBlock(nn.Module):
    def __init__(self, dims, c):
        super().__init__()
        self.body = nn.Sequential(reflect(dims, 1), conv(dims, c, c, 3), inorm(dims, c), nn.ReLU(True),
                                  reflect(dims, 1), conv(dims, c, c, 3), inorm(dims, c))

    def forward(self, x):
        return x + self.body(x)


class DIN(nn.Module):
    """Dynamic instance norm: IN(x) * gamma + beta with [gamma, beta] = linear(condition)."""

    def __init__(self, dims, c, cond):
        super().__init__()
        self.dims, self.c = dims, c
        self.mapping = nn.Linear(cond, 2 * c)

    def forward(self, x, s):
        gb = self.mapping(s)
        shape = (x.shape[0], self.c) + (1,) * self.dims
        gamma, beta = gb[:, : self.c].reshape(shape), gb[:, self.c:].reshape(shape)
        return F.instance_norm(x, eps=1e-5) * gamma + beta


def binomial(dims):
    b = torch.tensor([1.0, 2.0, 1.0])
    k = b[:, None] * b[None, :] if dims == 2 else b[:, None, None] * b[None, :, None] * b[None, None, :]
    return k / k.sum()


class BlurDown(nn.Module):
    """Anti-aliased downsampling: reflection pad 1, [1,2,1]^d blur, stride 2, per channel."""

    def __init__(self, dims):
        super().__init__()
        self.dims = dims
        self.register_buffer("k", binomial(dims)[None, None])

    def forward(self, x):
        # Channels folded into the batch: one single-channel conv (PyTorch's grouped 3D convs are slow on CPU).
        b, c = x.shape[:2]
        f = F.conv2d if self.dims == 2 else F.conv3d
        y = f(F.pad(x, (1,) * (2 * self.dims), mode="reflect").reshape(b * c, 1, *[n + 2 for n in x.shape[2:]]), self.k, stride=2)
        return y.reshape(b, c, *y.shape[2:])


class BlurUp(nn.Module):
    """Anti-aliased upsampling x2: last voxel repeated, zeros inserted by a stride-2 transposed
    conv with the [1,2,1]^d filter times 2^d (linear interpolation), cropped to 2n."""

    def __init__(self, dims):
        super().__init__()
        self.dims = dims
        self.register_buffer("k", binomial(dims)[None, None] * 2 ** dims)

    def forward(self, x):
        b, c, n = x.shape[0], x.shape[1], x.shape[2:]
        f = F.conv_transpose2d if self.dims == 2 else F.conv_transpose3d
        h = F.pad(x, (0, 1) * self.dims, mode="replicate").reshape(b * c, 1, *[m + 1 for m in n])
        y = f(h, self.k, stride=2)
        y = y[(slice(None), slice(None)) + tuple(slice(1, 1 + 2 * m) for m in n)]
        return y.reshape(b, c, *y.shape[2:])


class ResnetGenerator(nn.Module):
    """CycleGAN layout; `cond` > 0 makes the two decoder norms DIN (IntraStyler / Unified);
    `antialias` is CUT's layout (stride-1 conv + blur pool down, blur up + conv).
    encode(x, layers) returns CUT's taps 0 (padded input), 4, 8 (downsampling conv outputs),
    12, 16 (outputs of residual blocks 1 and 5)."""

    def __init__(self, dims, cin, cout, ngf, blocks, cond=0, antialias=False):
        super().__init__()
        self.dims, self.cond, self.antialias = dims, cond, antialias
        self.pad_in = reflect(dims, 3)
        self.conv_in = conv(dims, cin, ngf, 7)
        s = 1 if antialias else 2
        self.down = nn.ModuleList([conv(dims, ngf, ngf * 2, 3, stride=s, padding=1),
                                   conv(dims, ngf * 2, ngf * 4, 3, stride=s, padding=1)])
        self.blur_down = BlurDown(dims)
        self.blur_up = BlurUp(dims)
        self.blocks = nn.ModuleList([ResBlock(dims, ngf * 4) for _ in range(blocks)])
        if antialias:
            self.up = nn.ModuleList([conv(dims, ngf * 4, ngf * 2, 3, padding=1), conv(dims, ngf * 2, ngf, 3, padding=1)])
        else:
            self.up = nn.ModuleList([conv_t(dims, ngf * 4, ngf * 2, 3, stride=2, padding=1, output_padding=1),
                                     conv_t(dims, ngf * 2, ngf, 3, stride=2, padding=1, output_padding=1)])
        self.up_norm = nn.ModuleList([DIN(dims, ngf * 2, cond), DIN(dims, ngf, cond)] if cond else [])
        self.conv_out = conv(dims, ngf, cout, 7)

    def encode(self, x, layers):
        feats, h = [], self.pad_in(x)
        if 0 in layers:
            feats.append(h)
        h = F.relu(F.instance_norm(self.conv_in(h), eps=1e-5))
        for i, d in enumerate(self.down):
            h = d(h)
            if 4 * (i + 1) in layers:
                feats.append(h)
            h = F.relu(F.instance_norm(h, eps=1e-5))
            if self.antialias:
                h = self.blur_down(h)
        for i, b in enumerate(self.blocks):
            if len(feats) == len(layers):
                break
            h = b(h)
            if i in (0, 4) and (12 if i == 0 else 16) in layers:
                feats.append(h)
        return feats

    def forward(self, x, s=None):
        h = F.relu(F.instance_norm(self.conv_in(self.pad_in(x)), eps=1e-5))
        for d in self.down:
            h = F.relu(F.instance_norm(d(h), eps=1e-5))
            if self.antialias:
                h = self.blur_down(h)
        for b in self.blocks:
            h = b(h)
        for i, u in enumerate(self.up):
            h = u(self.blur_up(h) if self.antialias else h)
            h = self.up_norm[i](h, s) if self.cond else F.instance_norm(h, eps=1e-5)
            h = F.relu(h)
        pad = (3,) * (2 * self.dims)
        return torch.tanh(self.conv_out(F.pad(h, pad, mode="reflect")))


def patch_gan(dims, cin, ndf=64, n_layers=3):
    layers = [conv(dims, cin, ndf, 4, stride=2, padding=1), nn.LeakyReLU(0.2, True)]
    mult = 1
    for n in range(1, n_layers):
        prev, mult = mult, min(2 ** n, 8)
        layers += [conv(dims, ndf * prev, ndf * mult, 4, stride=2, padding=1), inorm(dims, ndf * mult), nn.LeakyReLU(0.2, True)]
    prev, mult = mult, min(2 ** n_layers, 8)
    layers += [conv(dims, ndf * prev, ndf * mult, 4, stride=1, padding=1), inorm(dims, ndf * mult), nn.LeakyReLU(0.2, True)]
    layers += [conv(dims, ndf * mult, 1, 4, stride=1, padding=1)]
    return nn.Sequential(*layers)


class StyleEncoder(nn.Module):
    def __init__(self, dims, cin=1, base=64, k=256):
        super().__init__()
        self.net = nn.Sequential(reflect(dims, 3), conv(dims, cin, base, 7), inorm(dims, base), nn.ReLU(True),
                                 conv(dims, base, base * 2, 4, stride=2, padding=1), inorm(dims, base * 2), nn.ReLU(True),
                                 conv(dims, base * 2, base * 4, 4, stride=2, padding=1), inorm(dims, base * 4), nn.ReLU(True))
        self.head = nn.Linear(base * 4, k)

    def forward(self, x):
        h = self.net(x).flatten(2).mean(2)
        return F.normalize(self.head(h), dim=1, eps=1e-12)


class PatchMLP(nn.Module):
    """CUT's patch sampler head: per tapped layer Linear(C, 256), ReLU, Linear(256, 256), L2 norm."""

    def __init__(self, channels, nc=256):
        super().__init__()
        self.mlps = nn.ModuleList([nn.Sequential(nn.Linear(c, nc), nn.ReLU(), nn.Linear(nc, nc)) for c in channels])

    def forward(self, feats, num_patches, ids=None):
        out, out_ids = [], []
        for i, f in enumerate(feats):
            flat = f.flatten(2).permute(0, 2, 1)  # [B, S, C]
            idx = ids[i] if ids is not None else torch.randperm(flat.shape[1])[: min(num_patches, flat.shape[1])]
            x = self.mlps[i](flat[:, idx, :].flatten(0, 1))
            out.append(F.normalize(x, dim=1, eps=1e-7))
            out_ids.append(idx)
        return out, out_ids


def patch_nce(q, k, batch, tau=0.07):
    """PatchNCE with negatives from the same image only, self masked to -10, keys detached."""
    k = k.detach()
    n, c = q.shape
    l_pos = (q * k).sum(1, keepdim=True)
    qb, kb = q.view(batch, -1, c), k.view(batch, -1, c)
    l_neg = torch.bmm(qb, kb.transpose(2, 1))
    eye = torch.eye(l_neg.shape[1], dtype=torch.bool)[None]
    l_neg = l_neg.masked_fill(eye, -10.0).view(-1, l_neg.shape[1])
    logits = torch.cat([l_pos, l_neg], 1) / tau
    return F.cross_entropy(logits, torch.zeros(n, dtype=torch.long), reduction="none").mean()


class UNet(nn.Module):
    """nnU-Net spirit: per level two [conv3, IN(affine), LeakyReLU(0.01)], stride-2 first conv on
    deeper levels, transposed conv k2 s2 up, skip concat, 1x1 conv to class logits."""

    def __init__(self, dims, cin, classes, base=32, depth=4, max_ch=320):
        super().__init__()
        ch = [min(base * 2 ** i, max_ch) for i in range(depth)]

        def block(a, b, stride):
            return nn.Sequential(conv(dims, a, b, 3, stride=stride, padding=1), inorm(dims, b, True), nn.LeakyReLU(0.01, True),
                                 conv(dims, b, b, 3, padding=1), inorm(dims, b, True), nn.LeakyReLU(0.01, True))

        self.enc = nn.ModuleList([block(cin if i == 0 else ch[i - 1], ch[i], 1 if i == 0 else 2) for i in range(depth)])
        self.up = nn.ModuleList([conv_t(dims, ch[i + 1], ch[i], 2, stride=2) for i in reversed(range(depth - 1))])
        self.dec = nn.ModuleList([block(2 * ch[i], ch[i], 1) for i in reversed(range(depth - 1))])
        self.out = conv(dims, ch[0], classes, 1)

    def forward(self, x):
        skips = []
        for e in self.enc:
            x = e(x)
            skips.append(x)
        x = skips.pop()
        for u, d in zip(self.up, self.dec):
            x = d(torch.cat([skips.pop(), u(x)], 1))
        return self.out(x)


def init_weights(net, kind="normal", gain=0.02):
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.Conv3d, nn.ConvTranspose2d, nn.ConvTranspose3d, nn.Linear)):
            if kind == "xavier":
                nn.init.xavier_normal_(m.weight, gain=gain)
            elif kind == "kaiming":
                nn.init.kaiming_normal_(m.weight, a=0.01)
            else:
                nn.init.normal_(m.weight, 0.0, gain)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    return net
