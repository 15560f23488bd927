#!/usr/bin/env python3
"""The training recipe in both engines: plain-56 and resnet-56, several seeds, same data.

PyTorch trains the reference CIFAR ResNet (the layout of akamaster/pytorch_resnet_cifar10, the
usual PyTorch reproduction of He et al. 2015: 3x3 convs without bias, batch norm, option A
zero-padded shortcuts, global average pooling, a Linear classifier, He-normal initialisation of
every conv and Linear weight) and its plain twin on an IDX data set; ResNet Lab trains its
presets with `resnet-lab train` on the same files. Same recipe in both: batch 128, SGD lr 0.1,
momentum 0.9, weight decay 1e-4, no augmentation, pixels normalised per channel with the
training split's mean and standard deviation. Each engine uses its own random initialisation and
batch order per seed, so the question is whether our per-epoch training errors come from the same
distribution as PyTorch's.

    resnet-lab export-data --data builtin --to idx --out /tmp/shapes-idx
    python3 tests/torch/recipe.py --data /tmp/shapes-idx --seeds 0 1 2 3 4 --epochs 3

Prints one markdown table per net (training error per epoch, both engines, every seed) and one
table of per-epoch means with Welch's t; exits 1 when a mean differs by more than the seeds explain
(|t| > 4), 2 when runs are missing. Not a min-max test: deep nets at lr 0.1 are chaotic (resnet-56
ends epoch 3 anywhere between 5% and 75% in PyTorch alone), and with n PyTorch seeds a run drawn
from the very same distribution lands outside their min-max with probability 2/(n+1), so such a
test fails by luck; the table still counts those cells next to that expectation. With --results
FILE each finished run is kept there, so `--engines PyTorch` and `--engines "ResNet Lab"` can run at
different times and an interrupted comparison resumes.

With --paired the two engines start each seed from the SAME weights (ours for that seed, read from
`resnet-lab dev-step --steps 0` and loaded into the reference net by position, shapes checked) and
see the SAME batches (PyTorch replays our SplitMix64 + Fisher-Yates shuffle), so the only
difference left is float rounding. To measure how far rounding alone carries a run, PyTorch also
trains --nudges copies whose starting weights are multiplied by (1 + 1e-6 * N(0, 1)), a few float32
ulps. Printed per seed: ours, PyTorch and PyTorch's nudged copies; then, from the per-step losses,
when each run departs from PyTorch (first step more than 0.1% and 10% away) and how far apart they
end: ours should leave PyTorch no sooner and end no farther than PyTorch's own nudged copies do.
A one-off nudge at the start is not quite what a second engine does: its float32 rounding differs
at every step. `--native` adds the closest PyTorch has to that, a run with oneDNN turned off (PyTorch's
own convolution kernels, the same maths summed in another order). Exits 1 only when the first step
(same weights, same batch, no update yet) differs by more than 1e-4.

    python3 tests/torch/recipe.py --data /tmp/shapes-idx --paired --nudges 2 --native --epochs 1 --results paired.json
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
from safetensors.torch import load_file, save_file

# compare.py sits beside this file (the script's folder is on sys.path).
from compare import load_module

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
M64 = (1 << 64) - 1
# The paired PyTorch run with oneDNN off.
NATIVE = "PyTorch native conv"


class Rng64:
    """src/rng.rs's SplitMix64, bit for bit: the batch order our trainer uses."""

    def __init__(self, seed):
        self.state = (seed ^ 0x9E3779B97F4A7C15) & M64

    @classmethod
    def derive(cls, seed, stream):
        r = cls((seed + stream * 0xD1B54A32D192ED03) & M64)
        r.next_u64()
        return r

    def next_u64(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & M64
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
        return z ^ (z >> 31)

    def shuffle(self, v):
        for i in range(len(v) - 1, 0, -1):
            j = (self.next_u64() * (i + 1)) >> 64
            v[i], v[j] = v[j], v[i]


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
        self.zeros_after = False

    def forward(self, x):
        out = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        if self.residual:
            s = x
            if self.stride != 1 or self.pad:
                # option A as the reference writes it: subsample, zero channels on both sides.
                # ResNet Lab appends them after the input's channels instead; the two nets are the
                # same up to relabelling channels, so only the paired mode (same weights) follows ours.
                front = 0 if self.zeros_after else self.pad
                s = F.pad(x[:, :, :: self.stride, :: self.stride], (0, 0, 0, 0, front, 2 * self.pad - front))
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


def torch_run(depth, residual, seed, x, y, a, init=None, nudge=None, native=False):
    """One PyTorch run. With `init` (a state dict in the reference net's key order) the net starts
    from those weights and the batches follow our trainer's order; `nudge` seeds the 1e-6
    relative perturbation of the starting weights; `native` turns oneDNN off, so PyTorch runs its
    own convolution kernels (the same maths, another float32 summation order at every step)."""
    with torch.backends.mkldnn.flags(enabled=not native):
        return torch_train(depth, residual, seed, x, y, a, init, nudge)


def torch_train(depth, residual, seed, x, y, a, init, nudge):
    torch.manual_seed(seed)
    net = Net(depth, residual, x.shape[1], int(y.max()) + 1)
    if init is not None:
        state = {k: v.clone() for k, v in init.items()}
        if nudge is not None:
            gen = torch.Generator().manual_seed(1000 + nudge)
            for k, v in state.items():
                if k.endswith("weight") and v.dim() > 1:
                    v.mul_(1 + 1e-6 * torch.randn(v.shape, generator=gen, dtype=torch.float64).float())
        net.load_state_dict(state)
        for m in net.modules():
            if isinstance(m, Block):
                m.zeros_after = True
    opt = torch.optim.SGD(net.parameters(), lr=a.lr, momentum=0.9, weight_decay=1e-4)
    flat = x.float().div(255).transpose(0, 1).reshape(x.shape[1], -1)
    mean = flat.mean(1).view(1, -1, 1, 1)
    std = flat.std(1, unbiased=False).view(1, -1, 1, 1)
    g = torch.Generator().manual_seed(seed)
    errs, losses = [], []
    steps = len(x) // a.batch
    ours = list(range(len(x)))
    for epoch in range(a.epochs):
        if init is None:
            order = torch.randperm(len(x), generator=g)
        else:
            # Our trainer reshuffles the same vector each epoch (src/train/trainer.rs).
            Rng64.derive(seed, 1000 + epoch).shuffle(ours)
            order = torch.tensor(ours)
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
            losses.append(loss.item())
            wrong += int((logits.argmax(1) != y[idx]).sum())
            seen += len(idx)
        errs.append(wrong / seen)
    return errs, losses


def ours_init(depth, residual, seed, x, classes, a, tmp):
    """Our engine's starting weights for this seed, as a state dict of the reference `Net`.

    `dev-step --steps 0` saves the run with its initial weights (the same `Model::new(spec, input,
    seed)` that `train --seed` calls); export-torch's model.py gives the PyTorch key order, which
    is the reference net's module order too, so tensors are matched by position, shapes checked."""
    arch = "resnet" if residual else "plain"
    run, exp = (os.path.join(tmp, f"{arch}-{depth}-{seed}-{k}") for k in ("run", "torch"))
    batch = os.path.join(tmp, "one.safetensors")
    save_file({"x": torch.zeros((1, 1) + tuple(x.shape[1:])), "y": torch.zeros((1, 1), dtype=torch.int64)}, batch)
    common = dict(check=True, stderr=subprocess.DEVNULL)
    subprocess.run([a.bin, "dev-step", "--arch", arch, "--depth", str(depth), "--seed", str(seed), "--classes",
                    str(classes), "--batch", batch, "--steps", "0", "--out", run], **common)
    subprocess.run([a.bin, "export-torch", run, "--out", exp], **common)
    theirs = load_file(os.path.join(exp, "weights.safetensors"))
    order = list(load_module(os.path.join(exp, "model.py"), f"m{arch}{depth}{seed}").Net().state_dict())
    ref = Net(depth, residual, x.shape[1], classes).state_dict()
    if len(order) != len(ref):
        raise SystemExit(f"{arch}-{depth}: {len(order)} exported tensors vs {len(ref)} in the reference net")
    init = {}
    for ours_key, (key, v) in zip(order, ref.items()):
        t = theirs[ours_key]
        if t.shape != v.shape or ours_key.rsplit(".", 1)[-1] != key.rsplit(".", 1)[-1]:
            raise SystemExit(f"{ours_key} {tuple(t.shape)} does not match the reference's {key} {tuple(v.shape)}")
        init[key] = t.to(v.dtype)
    return init


def ours_run(depth, residual, seed, a, tmp):
    out = os.path.join(tmp, f"{'resnet' if residual else 'plain'}-{depth}-{seed}.json")
    subprocess.run([a.bin, "train", "--data", a.data, "--format", "idx", "--arch", "resnet" if residual else "plain",
                    "--depth", str(depth), "--seed", str(seed), "--epochs", str(a.epochs), "--batch", str(a.batch),
                    "--lr", str(a.lr), "--momentum", "0.9", "--wd", "1e-4", "--probe-every", "0",
                    "--threads", str(a.threads), "--out", out], check=True, stderr=subprocess.DEVNULL)
    with open(out) as f:
        h = json.load(f)
    return [e["train_err"] for e in h["epochs"]], h["step_loss"]


def nets(a):
    """(depth, residual, name) of every net asked for, plain first."""
    for depth in a.depths:
        for residual in [r for r in (False, True) if ("resnet" if r else "plain") in a.archs]:
            yield depth, residual, f"{'resnet' if residual else 'plain'}-{depth}"


def load_results(path):
    """{(net, engine, seed): result} from a --results file (empty when there is none yet)."""
    if not path or not os.path.exists(path):
        return {}
    with open(path) as f:
        return {tuple(k.split("|")[:2]) + (int(k.split("|")[2]),): v for k, v in json.load(f).items()}


def save_results(path, results):
    """Writes the results atomically, so an interrupted comparison keeps every finished run."""
    if path:
        with open(path + ".tmp", "w") as f:
            json.dump({f"{n}|{e}|{s}": v for (n, e, s), v in results.items()}, f)
        os.replace(path + ".tmp", path)


def train_missing(a, engines, train):
    """Every (net, engine, seed) asked for, trained by `train(depth, residual, seed, engine, tmp)`
    unless --results has it already; each result is kept as soon as it exists. Seeds outermost: an
    interrupted comparison has every net at its first seeds."""
    results = load_results(a.results)
    with tempfile.TemporaryDirectory() as tmp:
        for seed in a.seeds:
            for depth, residual, name in nets(a):
                for engine in engines:
                    if (name, engine, seed) in results:
                        continue
                    t0 = time.time()
                    results[(name, engine, seed)] = train(depth, residual, seed, engine, tmp)
                    save_results(a.results, results)
                    print(f"{name} seed {seed}: {engine} {time.time() - t0:.0f} s", file=sys.stderr, flush=True)
    return results


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", required=True, help="IDX folder (resnet-lab export-data --to idx)")
    ap.add_argument("--bin", default=os.path.join(ROOT, "target", "release", "resnet-lab"))
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--depths", type=int, nargs="+", default=[56])
    ap.add_argument("--archs", nargs="+", default=["plain", "resnet"], choices=["plain", "resnet"],
                    help="train only these nets now (e.g. one per core)")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=0.1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--engines", nargs="+", default=["PyTorch", "ResNet Lab"], choices=["PyTorch", "ResNet Lab"],
                    help="train only these now (the others' results may already be in --results)")
    ap.add_argument("--results", help="JSON file: runs found there are not trained again, new runs are added "
                    "(so the engines can run at different times and an interrupted comparison can resume)")
    ap.add_argument("--paired", action="store_true",
                    help="both engines start from our weights and follow our batch order (see the top of this file)")
    ap.add_argument("--nudges", type=int, default=2, help="with --paired: PyTorch reruns from nudged weights")
    ap.add_argument("--native", action="store_true",
                    help="with --paired: one more PyTorch run with oneDNN off (PyTorch's own conv kernels: "
                    "another float32 rounding at every step, as a second engine has)")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    x, y = load(a.data, "train")
    if a.paired:
        return paired(a, x, y)
    def train(depth, residual, seed, engine, tmp):
        if engine == "PyTorch":
            return torch_run(depth, residual, seed, x, y, a)[0]
        return ours_run(depth, residual, seed, a, tmp)[0]

    results = train_missing(a, a.engines, train)
    outside, missing, cells = [], [], []
    for depth, residual, name in nets(a):
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
            ours = [results[(name, "ResNet Lab", s)][e] for s in a.seeds if (name, "ResNet Lab", s) in results]
            if len(ref) < 2 or len(ours) < 2:
                continue
            t = welch_t(ours, ref)
            lo, hi = min(ref), max(ref)
            n_out = sum(not lo <= o <= hi for o in ours)
            cells.append((name, e + 1, mean(ref), mean(ours), t, n_out, len(ours), len(ref)))
    if cells:
        print("\nPer epoch: means over seeds, Welch's t of the difference (|t| > 4 fails), and how many of our"
              " seeds fall outside PyTorch's min-max (for two engines with the same distribution and n PyTorch"
              " seeds, 2/(n+1) of ours are expected outside it).\n")
        print("| net | epoch | PyTorch mean | ours mean | Welch t | ours outside PyTorch's range |")
        print("|---|---|---|---|---|---|")
        for name, e, mr, mo, t, n_out, no, nr in cells:
            print(f"| {name} | {e} | {mr * 100:.1f} | {mo * 100:.1f} | {t:+.2f} | {n_out} of {no}"
                  f" (expected {2 * no / (nr + 1):.1f}) |")
        outside = [f"{name} epoch {e}: means {mr * 100:.1f}% vs ours {mo * 100:.1f}%, t = {t:+.2f}"
                   for name, e, mr, mo, t, *_ in cells if abs(t) > 4]
    if missing:
        print("\nnot run (so not judged): " + ", ".join(missing))
    if outside:
        print("\nours differs from PyTorch by more than the seeds explain:\n  " + "\n  ".join(outside))
        sys.exit(1)
    if missing:
        sys.exit(2)
    print("\nevery epoch's mean agrees with PyTorch's within the seed spread (|t| <= 4)")


def mean(v):
    return sum(v) / len(v)


def welch_t(u, v):
    """Welch's t of mean(u) - mean(v); 0 when both samples are constant and equal."""
    var = lambda w: sum((x - mean(w)) ** 2 for x in w) / (len(w) - 1)  # noqa: E731
    se = (var(u) / len(u) + var(v) / len(v)) ** 0.5
    d = mean(u) - mean(v)
    return d / se if se > 0 else (0.0 if d == 0 else float("inf"))


def paired(a, x, y):
    classes = int(y.max()) + 1
    # The PyTorch runs beside the plain one: nudged starts, and the native kernels.
    variants = [f"PyTorch nudge {k + 1}" for k in range(a.nudges)] + [NATIVE] * a.native
    engines = [e for e in ["ResNet Lab", "PyTorch"] + variants
               if e == "ResNet Lab" and "ResNet Lab" in a.engines or e != "ResNet Lab" and "PyTorch" in a.engines]
    inits = {}

    def train(depth, residual, seed, engine, tmp):
        if engine == "ResNet Lab":
            err, loss = ours_run(depth, residual, seed, a, tmp)
        else:
            if (depth, residual, seed) not in inits:
                inits[(depth, residual, seed)] = ours_init(depth, residual, seed, x, classes, a, tmp)
            k = None if engine in ("PyTorch", NATIVE) else int(engine.rsplit(" ", 1)[1])
            err, loss = torch_run(depth, residual, seed, x, y, a, inits[(depth, residual, seed)], k,
                                  native=engine == NATIVE)
        return {"err": err, "loss": loss}

    results = train_missing(a, engines, train)
    all_engines = ["ResNet Lab", "PyTorch"] + variants
    missing, report, first_step = [], [], []
    for depth, residual, name in nets(a):
        print(f"\n{name}, paired (same starting weights, same batches): training error (%) per epoch, "
              f"{len(x)} images, batch {a.batch}, lr {a.lr}\n")
        print("| seed | " + " | ".join(all_engines) + " |")
        print("|---|" + "---|" * len(all_engines))
        for seed in a.seeds:
            row = [results.get((name, e, seed)) for e in all_engines]
            missing += [f"{name} {e} seed {seed}" for e, r in zip(all_engines, row) if r is None]
            print(f"| {seed} | " + " | ".join(
                "not run" if r is None else " / ".join(f"{v * 100:.1f}" for v in r["err"]) for r in row) + " |")
            ref = row[1]
            if ref is None:
                continue
            for e, r in zip(all_engines, row):
                if r is not None and e != "PyTorch":
                    report.append((name, seed, e, divergence(r["loss"], ref["loss"]),
                                   [abs(u - v) for u, v in zip(r["err"], ref["err"])]))
            if row[0] is not None:
                first_step.append((name, seed, abs(row[0]["loss"][0] - ref["loss"][0]) / ref["loss"][0]))
    if missing:
        print("\nnot run (so not judged): " + ", ".join(missing))
    print("\nHow far each run moves from PyTorch (same weights, same batches), by its per-step training loss:"
          " the first step whose loss differs by more than 0.1% and by more than 10%, the median relative"
          " difference over the last quarter of the steps, and the training-error difference per epoch.\n")
    print("| net | seed | run vs PyTorch | first step > 0.1% | first step > 10% | median rel. diff, last quarter"
          " | |error diff| per epoch (points) |")
    print("|---|---|---|---|---|---|---|")
    for name, seed, e, (s1, s10, tail), derr in report:
        print(f"| {name} | {seed} | {e} | {s1 or 'never'} | {s10 or 'never'} | {tail:.3f} | "
              + " / ".join(f"{d * 100:.1f}" for d in derr) + " |")
    # The one check that does not depend on chaos: the first step sees the same weights and the
    # same batch in both engines, so its loss must agree to float rounding.
    bad = [f"{n} seed {s}: first-step loss differs by {d:.1e} relative" for n, s, d in first_step if d > 1e-4]
    if bad:
        print("\nthe engines disagree before any update:\n  " + "\n  ".join(bad))
        sys.exit(1)
    print(f"\nfirst-step losses agree in all {len(first_step)} paired runs (largest relative difference "
          f"{max((d for *_, d in first_step), default=0):.1e})")
    sys.exit(2 if missing else 0)


def divergence(loss, ref):
    """(first step whose loss differs from `ref` by > 0.1%, the same for > 10% (None: never), the
    median relative difference over the last quarter of the steps)."""
    rel = [abs(u - v) / max(abs(v), 1e-12) for u, v in zip(loss, ref)]
    first = lambda t: next((i + 1 for i, d in enumerate(rel) if d > t), None)  # noqa: E731
    tail = sorted(rel[len(rel) * 3 // 4:]) or [0.0]
    return first(1e-3), first(0.1), tail[len(tail) // 2]


if __name__ == "__main__":
    main()
