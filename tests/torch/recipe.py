#!/usr/bin/env python3
"""The training recipe in both engines: plain-56 and resnet-56, several seeds, same data.

PyTorch trains the reference CIFAR ResNet (the layout of akamaster/pytorch_resnet_cifar10, the
usual PyTorch reproduction of He et al. 2015: 3x3 convs without bias, batch norm, option A
zero-padded shortcuts, global average pooling, a Linear classifier, He-normal initialisation of
every conv and Linear weight) and its plain twin on an IDX data set; ResNet Lab trains its
presets with `resnet-lab train` on the same files. Same recipe in both: batch 128, SGD lr 0.1,
momentum 0.9, weight decay 1e-4, no augmentation, pixels normalised per channel with the
training split's mean and standard deviation. Each engine uses its own random initialisation and
batch order per seed, so the question is whether our per-epoch training errors fall inside
PyTorch's seed spread.

    resnet-lab export-data --data builtin --to idx --out /tmp/shapes-idx
    python3 tests/torch/recipe.py --data /tmp/shapes-idx --seeds 0 1 2 --epochs 3

Prints one markdown table per net (training error per epoch, both engines, every seed) and a
verdict line; exits 1 when one of ours falls outside PyTorch's range, 2 when runs are missing.
With --results FILE each finished run is kept there, so `--engines PyTorch` and
`--engines "ResNet Lab"` can run at different times and an interrupted comparison resumes.
"""
import argparse
import glob
import gzip
import json
import os
import struct
import subprocess
import sys
import tempfile
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def read_idx(path):
    with (gzip.open(path) if path.endswith(".gz") else open(path, "rb")) as f:
        data = f.read()
    ndim = data[3]
    dims = struct.unpack(">" + "I" * ndim, data[4 : 4 + 4 * ndim])
    return torch.frombuffer(bytearray(data[4 + 4 * ndim :]), dtype=torch.uint8).reshape(dims)


def load(folder, prefix):
    images = sorted(glob.glob(os.path.join(folder, f"{prefix}-images*")))[0]
    labels = sorted(glob.glob(os.path.join(folder, f"{prefix}-labels*")))[0]
    x = read_idx(images)
    return (x[:, None] if x.dim() == 3 else x), read_idx(labels).long()


class Block(nn.Module):
    """The reference BasicBlock; `residual=False` drops the shortcut (the plain twin)."""

    def __init__(self, cin, cout, stride, residual):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.residual, self.stride, self.pad = residual, stride, (cout - cin) // 2

    def forward(self, x):
        out = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        if self.residual:
            s = x
            if self.stride != 1 or self.pad:
                # option A as the reference writes it: subsample, zero channels on both sides
                s = F.pad(x[:, :, :: self.stride, :: self.stride], (0, 0, 0, 0, self.pad, self.pad))
            out = out + s
        return F.relu(out)


class Net(nn.Module):
    def __init__(self, depth, residual, in_ch, classes, width=16):
        super().__init__()
        n = (depth - 2) // 6
        self.conv1 = nn.Conv2d(in_ch, width, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        blocks, cin = [], width
        for stage in range(3):
            for i in range(n):
                cout = width << stage
                blocks.append(Block(cin, cout, 2 if stage > 0 and i == 0 else 1, residual))
                cin = cout
        self.blocks = nn.Sequential(*blocks)
        self.linear = nn.Linear(cin, classes)
        for m in self.modules():  # the reference's _weights_init
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.kaiming_normal_(m.weight)

    def forward(self, x):
        out = self.blocks(F.relu(self.bn1(self.conv1(x))))
        return self.linear(out.mean((2, 3)))


def torch_run(depth, residual, seed, x, y, a):
    torch.manual_seed(seed)
    net = Net(depth, residual, x.shape[1], int(y.max()) + 1)
    opt = torch.optim.SGD(net.parameters(), lr=a.lr, momentum=0.9, weight_decay=1e-4)
    flat = x.float().div(255).transpose(0, 1).reshape(x.shape[1], -1)
    mean = flat.mean(1).view(1, -1, 1, 1)
    std = flat.std(1, unbiased=False).view(1, -1, 1, 1)
    g = torch.Generator().manual_seed(seed)
    errs = []
    steps = len(x) // a.batch
    for _ in range(a.epochs):
        order = torch.randperm(len(x), generator=g)
        wrong = seen = 0
        net.train()
        for b in range(steps):
            idx = order[b * a.batch : (b + 1) * a.batch]
            xb = (x[idx].float() / 255 - mean) / std
            logits = net(xb)
            loss = F.cross_entropy(logits, y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            wrong += int((logits.argmax(1) != y[idx]).sum())
            seen += len(idx)
        errs.append(wrong / seen)
    return errs


def ours_run(depth, residual, seed, a, tmp):
    out = os.path.join(tmp, f"{'resnet' if residual else 'plain'}-{depth}-{seed}.json")
    subprocess.run([a.bin, "train", "--data", a.data, "--format", "idx", "--arch", "resnet" if residual else "plain",
                    "--depth", str(depth), "--seed", str(seed), "--epochs", str(a.epochs), "--batch", str(a.batch),
                    "--lr", str(a.lr), "--momentum", "0.9", "--wd", "1e-4", "--probe-every", "0",
                    "--threads", str(a.threads), "--out", out], check=True, stderr=subprocess.DEVNULL)
    with open(out) as f:
        return [e["train_err"] for e in json.load(f)["epochs"]]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", required=True, help="IDX folder (resnet-lab export-data --to idx)")
    ap.add_argument("--bin", default=os.path.join(ROOT, "target", "release", "resnet-lab"))
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--depths", type=int, nargs="+", default=[56])
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=0.1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--engines", nargs="+", default=["PyTorch", "ResNet Lab"], choices=["PyTorch", "ResNet Lab"],
                    help="train only these now (the others' results may already be in --results)")
    ap.add_argument("--results", help="JSON file: runs found there are not trained again, new runs are added "
                    "(so the engines can run at different times and an interrupted comparison can resume)")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    x, y = load(a.data, "train")
    results = {}
    if a.results and os.path.exists(a.results):
        with open(a.results) as f:
            results = {tuple(k.split("|")[:2]) + (int(k.split("|")[2]),): v for k, v in json.load(f).items()}

    def keep():
        if a.results:
            with open(a.results + ".tmp", "w") as f:
                json.dump({f"{n}|{e}|{s}": v for (n, e, s), v in results.items()}, f)
            os.replace(a.results + ".tmp", a.results)

    with tempfile.TemporaryDirectory() as tmp:
        # Seeds outermost: an interrupted comparison has every net at its first seeds.
        for seed in a.seeds:
            for depth in a.depths:
                for residual in (False, True):
                    name = f"{'resnet' if residual else 'plain'}-{depth}"
                    for engine in a.engines:
                        if (name, engine, seed) in results:
                            continue
                        t0 = time.time()
                        if engine == "PyTorch":
                            results[(name, engine, seed)] = torch_run(depth, residual, seed, x, y, a)
                        else:
                            results[(name, engine, seed)] = ours_run(depth, residual, seed, a, tmp)
                        keep()
                        print(f"{name} seed {seed}: {engine} {time.time() - t0:.0f} s", file=sys.stderr, flush=True)
    outside, missing = [], []
    for depth in a.depths:
        for residual in (False, True):
            name = f"{'resnet' if residual else 'plain'}-{depth}"
            print(f"\n{name}: training error (%) per epoch, {len(x)} images, batch {a.batch}, lr {a.lr}\n")
            print("| engine | seed | " + " | ".join(f"epoch {e + 1}" for e in range(a.epochs)) + " |")
            print("|---|---|" + "---|" * a.epochs)
            for engine in ("PyTorch", "ResNet Lab"):
                for seed in a.seeds:
                    errs = results.get((name, engine, seed))
                    if errs is None:
                        missing.append(f"{name} {engine} seed {seed}")
                        print(f"| {engine} | {seed} | " + " | ".join("not run" for _ in range(a.epochs)) + " |")
                        continue
                    print(f"| {engine} | {seed} | " + " | ".join(f"{e * 100:.1f}" for e in errs) + " |")
            for e in range(a.epochs):
                ref = [results[(name, "PyTorch", s)][e] for s in a.seeds if (name, "PyTorch", s) in results]
                ours = [(s, results[(name, "ResNet Lab", s)][e]) for s in a.seeds if (name, "ResNet Lab", s) in results]
                if not ref:
                    continue
                lo, hi = min(ref), max(ref)
                print(f"| PyTorch range, epoch {e + 1} | | {lo * 100:.1f} - {hi * 100:.1f} | ours: "
                      + ", ".join(f"{o * 100:.1f}" for _, o in ours) + " |" + " |" * (a.epochs - 2))
                outside += [f"{name} seed {s} epoch {e + 1}: {o * 100:.1f}% outside {lo * 100:.1f}-{hi * 100:.1f}%"
                            for s, o in ours if not lo <= o <= hi]
    if missing:
        print("\nnot run (so not judged): " + ", ".join(missing))
    if outside:
        print("\noutside PyTorch's seed range:\n  " + "\n  ".join(outside))
        sys.exit(1)
    if missing:
        sys.exit(2)
    print("\nevery epoch of ours lies inside PyTorch's seed range")


if __name__ == "__main__":
    main()
