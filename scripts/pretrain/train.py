"""The torch half of fashion_mnist_vit.py (see its header for the recipe): data, the MAE and
supervised objectives, the loop, and what is saved."""

import json
import math
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import timm
import timm.optim
from timm.models.vision_transformer import Block
from safetensors.torch import save_file

ARCH = "vit_tiny_patch16_224"


def sincos_table(width, grid, cls_row):
    """MAE's fixed 2-D sine-cosine position table (models_mae's get_2d_sincos_pos_embed): half the
    channels encode the column, half the row, each as sin and cos of position / 10000^(2i/d); the
    class token's row is zero."""
    quarter = width // 4
    omega = 1.0 / 10000 ** (np.arange(quarter, dtype=np.float64) / quarter)
    rows, cols = np.meshgrid(np.arange(grid, dtype=np.float64), np.arange(grid, dtype=np.float64), indexing="ij")

    def encode(pos):
        angles = np.outer(pos.reshape(-1), omega)
        return np.concatenate([np.sin(angles), np.cos(angles)], axis=1)

    table = np.concatenate([encode(cols), encode(rows)], axis=1)
    if cls_row:
        table = np.concatenate([np.zeros((1, width)), table], axis=0)
    return torch.tensor(table, dtype=torch.float32)[None]


def encoder(args, num_classes, side, patch):
    model = timm.create_model(ARCH, pretrained=False, num_classes=num_classes, img_size=side, patch_size=patch,
                              embed_dim=args.width, depth=args.depth, num_heads=args.heads, global_pool="avg",
                              fc_norm=True)
    model.pos_embed.data.copy_(sincos_table(args.width, side // patch, cls_row=True))
    model.pos_embed.requires_grad_(False)
    return model


class Mae(nn.Module):
    """The encoder with MAE's decoder (models_mae.MaskedAutoencoderViT, scaled down)."""

    def __init__(self, enc, patch, width=128, depth=2, heads=4):
        super().__init__()
        self.enc, self.patch = enc, patch
        tokens = enc.patch_embed.num_patches
        self.embed = nn.Linear(enc.embed_dim, width)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, width))
        self.register_buffer("pos", sincos_table(width, int(math.isqrt(tokens)), cls_row=True))
        self.blocks = nn.Sequential(*[Block(width, heads, mlp_ratio=4.0, qkv_bias=True) for _ in range(depth)])
        self.norm = nn.LayerNorm(width, eps=1e-6)
        self.pred = nn.Linear(width, patch * patch)  # one grey channel per pixel
        nn.init.normal_(self.mask_token, std=0.02)
        for m in [self.embed, self.pred, *self.blocks.modules()]:
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)
                nn.init.zeros_(m.bias)

    def no_weight_decay(self):
        return {"enc.pos_embed", "enc.cls_token", "mask_token"}

    def patches(self, grey):
        """[B, 1, H, W] -> [B, L, p*p], row-major patches."""
        b, _, h, w = grey.shape
        p = self.patch
        x = grey.reshape(b, h // p, p, w // p, p).permute(0, 1, 3, 2, 4)
        return x.reshape(b, (h // p) * (w // p), p * p)

    def forward(self, grey, ratio, generator=None):
        enc = self.enc
        rgb = grey.expand(-1, 3, -1, -1)
        x = enc.patch_embed(rgb) + enc.pos_embed[:, 1:]
        b, n, d = x.shape
        keep = int(n * (1 - ratio))
        order = torch.rand(b, n, generator=generator).argsort(1)
        restore = order.argsort(1)
        x = torch.gather(x, 1, order[:, :keep, None].expand(-1, -1, d))
        cls = (enc.cls_token + enc.pos_embed[:, :1]).expand(b, -1, -1)
        x = enc.fc_norm(enc.blocks(torch.cat([cls, x], 1)))
        x = self.embed(x)
        hidden = torch.cat([x[:, 1:], self.mask_token.expand(b, n - keep, -1)], 1)
        hidden = torch.gather(hidden, 1, restore[:, :, None].expand(-1, -1, x.shape[2]))
        x = self.blocks(torch.cat([x[:, :1], hidden], 1) + self.pos)
        pred = self.pred(self.norm(x))[:, 1:]
        target = self.patches(grey)
        mean, var = target.mean(-1, keepdim=True), target.var(-1, keepdim=True)
        target = (target - mean) / (var + 1e-6).sqrt()
        masked = torch.ones(b, n)
        masked[:, :keep] = 0
        masked = torch.gather(masked, 1, restore)
        loss = (((pred - target) ** 2).mean(-1) * masked).sum() / masked.sum()
        return loss, pred, masked, (mean, var)


def load(paths, read_idx, split, mean, std):
    (n, h, w), pixels = read_idx(paths[f"{split}-images-idx3-ubyte"])
    _, labels = read_idx(paths[f"{split}-labels-idx1-ubyte"])
    x = torch.frombuffer(bytearray(pixels), dtype=torch.uint8).reshape(n, 1, h, w).float() / 255
    return (x - mean) / std, torch.frombuffer(bytearray(labels), dtype=torch.uint8).long()


def augment(x, generator):
    """A random crop of the pictures padded by 2 px (at the background's value), one offset for the
    whole batch, and a horizontal flip of each picture with probability 1/2."""
    b, _, h, w = x.shape
    padded = F.pad(x, (2, 2, 2, 2), value=float(x.min()))
    dy, dx = torch.randint(0, 5, (2,), generator=generator).tolist()
    x = padded[:, :, dy:dy + h, dx:dx + w]
    flip = torch.rand(b, generator=generator) < 0.5
    return torch.where(flip[:, None, None, None], x.flip(3), x)


def schedule(step, total, warmup):
    if step < warmup:
        return (step + 1) / warmup
    return 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, total - warmup)))


def evaluate(args, net, x, y, generator):
    net.eval()
    total, right = 0.0, 0
    with torch.no_grad():
        for i in range(0, len(x), 1000):
            xb, yb = x[i:i + 1000], y[i:i + 1000]
            if args.mode == "mae":
                total += net(xb, args.mask_ratio, generator)[0].item() * len(xb)
            else:
                logits = net(xb.expand(-1, 3, -1, -1))
                total += F.cross_entropy(logits, yb).item() * len(xb)
                right += (logits.argmax(1) == yb).sum().item()
    net.train()
    out = {"loss": total / len(x)}
    if args.mode == "supervised":
        out["accuracy"] = right / len(x)
    return out


def reconstruction_png(net, x, args, path):
    """Rows of 8 test pictures: the original, what the encoder saw, the reconstruction (the visible
    patches pasted back), at 4x."""
    from PIL import Image
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        _, pred, masked, (mean, var) = net(x, args.mask_ratio, g)
    p, side = net.patch, x.shape[-1]
    pixels = pred * (var + 1e-6).sqrt() + mean
    target = net.patches(x)
    shown = masked[..., None] * pixels + (1 - masked[..., None]) * target
    seen = (1 - masked[..., None]) * target + masked[..., None] * float(x.min())

    def unpatch(t):
        g_ = side // p
        return t.reshape(len(x), g_, g_, p, p).permute(0, 1, 3, 2, 4).reshape(len(x), side, side)

    rows = [x[:, 0], unpatch(seen), unpatch(shown)]
    grid = torch.cat([torch.cat(list(r), 1) for r in rows], 0)
    grid = ((grid * args.std + args.mean).clamp(0, 1) * 255).round().byte().numpy()
    Image.fromarray(grid).resize((grid.shape[1] * 4, grid.shape[0] * 4), Image.NEAREST).save(path)


def config(args, side, patch):
    model_args = {"img_size": side, "patch_size": patch, "embed_dim": args.width, "depth": args.depth,
                  "num_heads": args.heads, "global_pool": "avg", "fc_norm": True}
    return {
        "architecture": ARCH,
        "num_classes": 0,
        "num_features": args.width,
        "global_pool": "avg",
        "model_args": model_args,
        "pretrained_cfg": {
            "tag": f"fmnist_{args.mode}", "custom_load": False, "input_size": [3, side, side],
            "fixed_input_size": True, "interpolation": "bilinear", "crop_pct": 1.0, "crop_mode": "center",
            "mean": [args.mean] * 3, "std": [args.std] * 3, "num_classes": 0, "pool_size": None,
            "first_conv": "patch_embed.proj", "classifier": "head", "license": "mit",
        },
    }


def fixed_input(side):
    """Two pictures the loader's test can rebuild from this file: a smooth pattern and its negative,
    in the normalised space."""
    yy, xx = torch.meshgrid(torch.arange(side, dtype=torch.float32), torch.arange(side, dtype=torch.float32),
                            indexing="ij")
    a = torch.stack([torch.sin(xx / 3 + c) * torch.cos(yy / 5) for c in range(3)])
    return torch.stack([a, -a])


def run(args, paths, write_atomically, read_idx, constants, argv):
    args.mean, args.std, side, patch = constants
    torch.manual_seed(args.seed)
    if args.threads:
        torch.set_num_threads(args.threads)
    g = torch.Generator().manual_seed(args.seed)
    x, y = load(paths, read_idx, "train", args.mean, args.std)
    xt, yt = load(paths, read_idx, "t10k", args.mean, args.std)
    enc = encoder(args, 0 if args.mode == "mae" else 10, side, patch)
    net = Mae(enc, patch) if args.mode == "mae" else enc
    opt = timm.optim.create_optimizer_v2(net, "adamw", lr=args.lr, weight_decay=0.05, betas=(0.9, 0.95))
    per_epoch = len(x) // args.batch
    total, warmup = per_epoch * args.epochs, int(per_epoch * args.warmup_epochs)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: schedule(s, total, warmup))
    log = {"command": " ".join(argv), "mode": args.mode, "seed": args.seed, "threads": torch.get_num_threads(),
           "torch": torch.__version__, "timm": timm.__version__, "steps_per_epoch": per_epoch, "epochs": []}
    start, step = time.time(), 0
    for epoch in range(args.epochs):
        perm = torch.randperm(len(x), generator=g)
        running = 0.0
        for i in range(per_epoch):
            idx = perm[i * args.batch:(i + 1) * args.batch]
            xb = augment(x[idx], g)
            if args.mode == "mae":
                loss = net(xb, args.mask_ratio, g)[0]
            else:
                loss = F.cross_entropy(net(xb.expand(-1, 3, -1, -1)), y[idx], label_smoothing=0.1)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            running += loss.item()
            step += 1
            if step % 20 == 0:
                print(f"epoch {epoch + 1} step {i + 1}/{per_epoch} loss {loss.item():.4f} "
                      f"{time.time() - start:.0f} s", flush=True)
            if args.max_steps and step >= args.max_steps:
                print(f"{step} steps in {time.time() - start:.1f} s; stopping (--max-steps)")
                return
        entry = {"epoch": epoch + 1, "train_loss": running / per_epoch, "wall_s": round(time.time() - start, 1)}
        if epoch + 1 == args.epochs or (epoch + 1) % 5 == 0:
            entry["test"] = evaluate(args, net, xt, yt, torch.Generator().manual_seed(2))
        log["epochs"].append(entry)
        print(json.dumps(entry), flush=True)
    enc.eval()
    inputs = fixed_input(side)
    with torch.no_grad():
        feats = enc.forward_head(enc.forward_features(inputs), pre_logits=True)
    state = {k: v.contiguous() for k, v in enc.state_dict().items() if not k.startswith("head.")}

    def write(folder):
        save_file(state, f"{folder}/model.safetensors")
        with open(f"{folder}/config.json", "w") as f:
            json.dump(config(args, side, patch), f, indent=2)
        with open(f"{folder}/log.json", "w") as f:
            json.dump(log, f, indent=1)
        with open(f"{folder}/features.json", "w") as f:
            json.dump({"input": inputs.tolist(), "pooled": feats.tolist(),
                       "note": "pooled = fc_norm(mean of the patch tokens), timm forward_head(pre_logits=True)"}, f)
        if args.mode == "mae":
            reconstruction_png(net, xt[:8], args, f"{folder}/reconstruction.png")

    write_atomically(args.out, write)
    print(f"wrote {args.out} in {time.time() - start:.0f} s")
