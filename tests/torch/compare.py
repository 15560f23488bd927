#!/usr/bin/env python3
"""Does ResNet Lab compute what PyTorch computes? One table; exits non-zero on any mismatch.

Rows: single layers (each between a stem conv and a pooling + Linear head, so its backward pass
is checked through the stem's gradient) and whole nets (plain and residual, option A and B,
depth 20 and 56, a built net with every kind of layer, and a run trained with `train --save`). For
each, from our engine's initial (or the saved run's trained) weights and fixed random batches:
  1. `resnet-lab dev-step` does a train-mode forward and backward, then 10 SGD steps (momentum
     0.9, weight decay 1e-4 on every parameter, as torch.optim.SGD does by default), recording
     logits, loss, every gradient, and after every step every parameter, momentum buffer and
     batch-norm buffer, plus eval-mode logits before and after;
  2. `resnet-lab export-torch` writes model.py for the same run (for the trained row: the saved
     run folder itself, so "eval logits (init)" is the exported model.py against our engine on
     the trained net, running statistics included), and PyTorch loads the same
     weights and does the same: once in float32 and once in float64. Each SGD step starts from
     our state before that step (parameters and momentum), so the 10 steps are 10 checks of one
     step each instead of one check of a chaotic trajectory; the free-running trajectory is the
     last column.
  3. Each cell is the worst relative error over the tensors of that column,
     max|ours - torch64| / max|torch64| per tensor (the denominator floored at 1e-2 of the
     column's largest value, for tensors that are zero in exact arithmetic, such as the bias of
     a Linear layer followed by batch norm). num_batches_tracked must match exactly.

A cell passes at or below --tol (1e-4); single layers must pass every cell so. Whole nets
meet float32's limits: a ReLU input within rounding distance of zero can land on either side in
two float32 engines (a "flip"), which changes the gradients upstream of it by about 1e-2, and
deep plain nets amplify rounding layer by layer. So the table counts, in the float64 run, the
ReLU inputs within 1e-5 standard deviations of zero ("fragile"); a whole net with fragile inputs
passes a cell above --tol only if ours is within 10x the larger of PyTorch float32's own error
and how far PyTorch float64 itself moves when the input is perturbed by 1e-6 or 1e-7 relative
(the largest of 8 random nudges: a measured bound, not a blanket one; for the per-step columns
measured at that very step, from the same state), shown as "~ours / torch32 / moved". The free-running 10-step trajectory is chaotic in every engine (PyTorch
float32 and float64 part ways too), so that column is shown, not judged.

    python3 tests/torch/compare.py                  # uses target/release or target/debug
    python3 tests/torch/compare.py --bin PATH --size 32 --batch 32 --only resnet

Needs torch and safetensors (pip install torch safetensors).
"""
import argparse
import ctypes
import importlib.util
import json
import os
import struct
import subprocess
import sys
import tempfile

import torch
import torch.nn.functional as F
from safetensors.torch import load_file

_DTYPES = {torch.float32: "F32", torch.float64: "F64", torch.float16: "F16", torch.bfloat16: "BF16",
           torch.int64: "I64", torch.int32: "I32", torch.uint8: "U8"}


def save_safetensors(tensors, path, metadata=None):
    """safetensors.torch.save_file without its numpy dependency: a little-endian u64 header
    length, a JSON header (dtype, shape, byte range per tensor), then the raw bytes."""
    header, blobs, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = metadata
    for name, t in tensors.items():
        t = t.detach().cpu().contiguous()
        n = t.numel() * t.element_size()
        header[name] = {"dtype": _DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + n]}
        blobs.append(ctypes.string_at(t.data_ptr(), n) if n else b"")
        offset += n
    text = json.dumps(header, separators=(",", ":"))
    text += " " * (-len(text) % 8)
    with open(path + ".tmp", "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text.encode())
        for b in blobs:
            f.write(b)
    os.replace(path + ".tmp", path)


ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def conv(out, k, stride=1, pad=None):
    return {"type": "Conv", "out": out, "k": k, "stride": stride, "pad": k // 2 if pad is None else pad}


BN, RELU = {"type": "BatchNorm"}, {"type": "ReLU"}


def block(name, body, shortcut, scale=1.0):
    return {"type": "Block", "name": name, "body": body, "shortcut": shortcut, "residual_scale": scale}


# A built net with every LayerSpec: a 5x5 stem, a projection block with a residual scale, a
# bottleneck block nested with an identity block, a conv with a ReLU of its own (nothing to
# fuse with), a plain block (no shortcut), pooling, and a Linear -> BatchNorm -> ReLU -> Linear head.
BUILT = {
    "name": "built net",
    "layers": [
        conv(8, 5),
        BN,
        RELU,
        block("built block", [conv(16, 3, 2), BN, RELU, conv(16, 1), BN], "Projection", 0.5),
        RELU,
        block(
            "bottleneck",
            [conv(8, 1), BN, RELU, conv(8, 3), BN, RELU,
             block("inner", [conv(8, 3), BN], "Identity"), RELU, conv(16, 1), BN],
            "Identity",
            0.2,
        ),
        RELU,
        conv(32, 3, 2),
        RELU,
        block("plain part", [conv(32, 3), BN, RELU], "None"),
        {"type": "GlobalAvgPool"},
        {"type": "Linear", "out": 24},
        BN,
        RELU,
        {"type": "Linear", "out": 10},
    ],
}



def op_net(name, layers):
    """One layer between a stem conv and a pooling + Linear head."""
    return {"name": name, "layers": [conv(8, 3), *layers, {"type": "GlobalAvgPool"}, {"type": "Linear", "out": 10}]}


def basic(ch, stride, shortcut, scale=1.0):
    return [block("block", [conv(ch, 3, stride), BN, RELU, conv(ch, 3), BN], shortcut, scale), RELU]


OPS = [
    ("conv 3x3", [conv(8, 3)]),
    ("conv 3x3 stride 2", [conv(16, 3, 2)]),
    ("conv 1x1 stride 2", [conv(16, 1, 2, 0)]),
    ("conv 5x5 pad 2", [conv(8, 5)]),
    ("conv 3x3 no pad", [conv(8, 3, 1, 0)]),
    ("batch norm", [BN]),
    ("batch norm + ReLU (fused)", [BN, RELU]),
    ("ReLU", [RELU]),
    ("identity block", basic(8, 1, "Identity")),
    ("option A block", basic(16, 2, "ZeroPadA")),
    ("option B block", basic(16, 2, "Projection")),
    ("residual scale 0.3", basic(8, 1, "Identity", 0.3)),
    ("plain block", basic(8, 1, "None")),
    ("Linear + BN + ReLU", [{"type": "GlobalAvgPool"}, {"type": "Linear", "out": 12}, BN, RELU]),
]

CONFIGS = [(f"op: {n}", {"spec": op_net(n, layers), "op": True}) for n, layers in OPS] + [
    ("plain-20", {"arch": "plain", "depth": 20, "shortcut": "a"}),
    ("resnet-20 A", {"arch": "resnet", "depth": 20, "shortcut": "a"}),
    ("resnet-20 B", {"arch": "resnet", "depth": 20, "shortcut": "b"}),
    ("built net", {"spec": BUILT}),
    # A run trained by `resnet-lab train --save` on the built-in set (grey 16x16): its trained
    # weights and batch-norm running statistics, exported with export-torch as a learner would.
    ("trained run (train --save)", {"train": ["--arch", "resnet", "--depth", "20", "--width", "8", "--size", "16",
                                              "--max-per-class", "40", "--batch", "32", "--max-steps", "25"],
                                    "channels": 1, "size": 16}),
    # The slow rows last.
    ("plain-56", {"arch": "plain", "depth": 56, "shortcut": "a"}),
    ("resnet-56 A", {"arch": "resnet", "depth": 56, "shortcut": "a"}),
    ("resnet-56 B", {"arch": "resnet", "depth": 56, "shortcut": "b"}),
]

COLUMNS = ["logits", "loss", "grads", "eval logits (init)", "step loss", "params after step",
           "momentum after step", "BN buffers after step", "eval logits (after)",
           "free run: params after 10 steps"]
JUDGED = COLUMNS[:-1]
# A nudge of 1e-6 (about ten float32 roundings) or 1e-7 (about one), NUDGES random directions
# each: one direction can miss the one ReLU input that float32 rounding flips (resnet-56 B at
# step 5 moves by 1.6e-3 under two of four 1e-7 nudges and by 1e-6 under the other two).
NOISE, FRAGILE, SENS, NUDGES = 10.0, 1e-5, (1e-6, 1e-7), 4


def find_binary(given):
    if given:
        return given
    for kind in ("release", "debug"):
        p = os.path.join(ROOT, "target", kind, "resnet-lab")
        if os.path.exists(p):
            return p
    subprocess.run(["cargo", "build", "--release"], cwd=ROOT, check=True)
    return os.path.join(ROOT, "target", "release", "resnet-lab")


def load_module(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.path.insert(0, os.path.dirname(path))
    try:
        spec.loader.exec_module(mod)
    finally:
        sys.path.pop(0)
    return mod


def worst(ours, ref):
    """Worst relative error over the tensors of one column (both dicts name -> tensor)."""
    scale = max((r.double().abs().max().item() for r in ref.values() if r.numel()), default=0.0)
    out = (0.0, "")
    for name, r in ref.items():
        o = ours[name]
        if not o.is_floating_point():
            e = 0.0 if torch.equal(o.long(), r.long()) else float("inf")
        else:
            r64, o64 = r.double(), o.double()
            denom = max(r64.abs().max().item() if r.numel() else 0.0, 1e-2 * scale, 1e-30)
            e = (o64 - r64).abs().max().item() / denom if r.numel() else 0.0
        if e > out[0] or not out[1]:
            out = (e, name)
    return out


def ours_from(oracle, state0, names, steps):
    O = {
        "logits": {"logits": oracle["logits"]},
        "loss": {"loss": oracle["loss"]},
        "grads": {n: oracle[f"grad.{n}"] for n in names},
        "eval logits (init)": {"logits": oracle["eval_logits_init"]},
        "eval logits (after)": {"logits": oracle["eval_logits"]},
        "step loss": {f"step {k}": oracle["step_loss"][k] for k in range(steps)},
        "params after step": {}, "momentum after step": {}, "BN buffers after step": {},
        "free run: params after 10 steps": {n: oracle[f"state{steps - 1}.{n}"] for n in names},
    }
    for k in range(steps):
        for n in state0:
            col = "params after step" if n in names else "BN buffers after step"
            O[col][f"{k}.{n}"] = oracle[f"state{k}.{n}"]
        for n in names:
            O["momentum after step"][f"{k}.{n}"] = oracle[f"momentum{k}.{n}"]
    return O


def torch_side(model, state0, oracle, x, y, a, dtype):
    """PyTorch's numbers in `dtype`, each SGD step from our state before it."""
    fragile = [0]

    def count(module, inp, out):
        z = inp[0].detach()
        fragile[0] += int((z.abs() < FRAGILE * z.std()).sum()) if module.training else 0

    def make(state):
        net = model.Net()
        net.load_state_dict(state, strict=True)
        for m in net.modules():
            if isinstance(m, torch.nn.ReLU):
                m.register_forward_hook(count)
        return net.to(dtype)

    R = {c: {} for c in COLUMNS}
    net = make(state0)
    net.eval()
    with torch.no_grad():
        R["eval logits (init)"]["logits"] = net(x[0].to(dtype))
    net.train()
    logits = net(x[0].to(dtype))
    loss = F.cross_entropy(logits, y[0])
    loss.backward()
    R["logits"]["logits"] = logits.detach()
    R["loss"]["loss"] = loss.detach()
    R["grads"] = {n: p.grad for n, p in net.named_parameters()}
    names = set(R["grads"])
    for k in range(a.steps):
        state = state0 if k == 0 else {n: oracle[f"state{k - 1}.{n}"] for n in state0}
        net = make(state)
        opt = torch.optim.SGD(net.parameters(), lr=a.lr, momentum=a.momentum, weight_decay=a.wd)
        if k > 0:
            for n, p in net.named_parameters():
                opt.state[p]["momentum_buffer"] = oracle[f"momentum{k - 1}.{n}"].to(dtype).clone()
        net.train()
        loss = F.cross_entropy(net(x[k % a.batches].to(dtype)), y[k % a.batches])
        opt.zero_grad()
        loss.backward()
        opt.step()
        R["step loss"][f"step {k}"] = loss.detach()
        for n, t in net.state_dict().items():
            col = "params after step" if n in names else "BN buffers after step"
            R[col][f"{k}.{n}"] = t
        for n, p in net.named_parameters():
            R["momentum after step"][f"{k}.{n}"] = opt.state[p]["momentum_buffer"]
    net = make({n: oracle[f"state{a.steps - 1}.{n}"] for n in state0})
    net.eval()
    with torch.no_grad():
        R["eval logits (after)"]["logits"] = net(x[0].to(dtype))
    net = make(state0)
    opt = torch.optim.SGD(net.parameters(), lr=a.lr, momentum=a.momentum, weight_decay=a.wd)
    net.train()
    for k in range(a.steps):
        loss = F.cross_entropy(net(x[k % a.batches].to(dtype)), y[k % a.batches])
        opt.zero_grad()
        loss.backward()
        opt.step()
    R["free run: params after 10 steps"] = {n: p.detach() for n, p in net.named_parameters()}
    R["fragile"] = fragile[0]
    if dtype == torch.float64:
        R["sensitivity"] = sensitivity(make, state0, oracle, x, y, a, dtype)
    return R


def sensitivity(make, state0, oracle, x, y, a, dtype):
    """How far PyTorch's own numbers move when the input moves by about one to ten float32
    roundings (SENS relative, NUDGES random directions each; the largest move counts), measured
    at every SGD step from the same state as that step's check (our parameters and momentum
    before it): the step once as is and once per perturbed input. A smooth function moves by
    about SENS; a net with fragile ReLU inputs moves by far more wherever one of them changes
    side, which is what float32 rounding inside any engine does too. Returns one dict per step, column -> how far it moved (the first step's also holds the
    logits, loss and gradient columns)."""
    per_step = []
    for k in range(a.steps):
        state = state0 if k == 0 else {n: oracle[f"state{k - 1}.{n}"] for n in state0}
        runs = []
        for eps, seed in [(0.0, 0)] + [(e, sd) for e in SENS for sd in range(NUDGES)]:
            net = make(state)
            net.train()
            xp = x[k % a.batches].to(dtype)
            if eps:
                g = torch.Generator().manual_seed(seed)
                xp = xp * (1 + eps * torch.randn(xp.shape, generator=g, dtype=dtype))
            opt = torch.optim.SGD(net.parameters(), lr=a.lr, momentum=a.momentum, weight_decay=a.wd)
            if k > 0:
                for n, p in net.named_parameters():
                    opt.state[p]["momentum_buffer"] = oracle[f"momentum{k - 1}.{n}"].to(dtype).clone()
            logits = net(xp)
            loss = F.cross_entropy(logits, y[k % a.batches])
            opt.zero_grad()
            loss.backward()
            grads = {n: p.grad.clone() for n, p in net.named_parameters()}
            opt.step()
            runs.append({"logits": {"logits": logits.detach()}, "loss": {"loss": loss.detach()}, "grads": grads,
                         "step loss": {"loss": loss.detach()},
                         "params after step": {n: p.detach() for n, p in net.named_parameters()},
                         "momentum after step": {n: opt.state[p]["momentum_buffer"] for n, p in net.named_parameters()}})
        per_step.append({c: max(worst(r[c], runs[0][c])[0] for r in runs[1:]) for c in runs[0]})
    return per_step


PER_STEP = ("step loss", "params after step", "momentum after step")


def judge(a, c, eo, et, fragile, moved, op):
    if eo <= a.tol:
        return "ok"
    if c not in JUDGED:
        return "shown"
    if not op and fragile and eo <= NOISE * max(et, moved or 0.0):
        return "noise"
    return "FAIL"


def step_of(key):
    """The step a per-step column's key belongs to ("8.stage3.block3.bn1.bias" or "step 8")."""
    return int(key.split(" ")[1]) if key.startswith("step ") else int(key.split(".", 1)[0])


def compare_config(i, label, cfg, a, tmp):
    work = os.path.join(tmp, f"net{i}")
    os.makedirs(work)
    g = torch.Generator().manual_seed(1000 + i)
    size = cfg.get("size", a.op_size if cfg.get("op") else a.size)
    batch = a.op_batch if cfg.get("op") else a.batch
    x = torch.randn(a.batches, batch, cfg.get("channels", a.channels), size, size, generator=g)
    y = torch.randint(0, 10, (a.batches, batch), generator=g)
    save_safetensors({"x": x, "y": y}, os.path.join(work, "batch.safetensors"))
    run = os.path.join(work, "run")
    cmd = [a.bin, "dev-step", "--batch", os.path.join(work, "batch.safetensors"), "--out", run,
           "--steps", str(a.steps), "--lr", str(a.lr), "--momentum", str(a.momentum), "--wd", str(a.wd),
           "--seed", str(i), "--threads", str(a.threads)]
    exported = run
    if "train" in cfg:
        exported = os.path.join(work, "trained")
        subprocess.run([a.bin, "train", "--data", "builtin", "--seed", str(i), "--threads", str(a.threads),
                        "--probe-every", "0", *cfg["train"], "--save", exported],
                       check=True, stderr=subprocess.DEVNULL)
        cmd += ["--run", exported]
    elif "spec" in cfg:
        spec_path = os.path.join(work, "net.json")
        with open(spec_path, "w") as f:
            json.dump(cfg["spec"], f)
        cmd += ["--spec", spec_path]
    else:
        cmd += ["--arch", cfg["arch"], "--depth", str(cfg["depth"]), "--shortcut", cfg["shortcut"],
                "--width", str(a.width)]
    subprocess.run(cmd, check=True)
    tdir = os.path.join(work, "torch")
    subprocess.run([a.bin, "export-torch", exported, "--out", tdir], check=True, stderr=subprocess.DEVNULL)
    model = load_module(os.path.join(tdir, "model.py"), f"model_{i}")
    state0 = load_file(os.path.join(tdir, "weights.safetensors"))
    oracle = load_file(os.path.join(run, "oracle.safetensors"))
    names = {n for n, _ in model.Net().named_parameters()}
    ours_grads = {k[5:] for k in oracle if k.startswith("grad.")}
    if ours_grads != names:
        raise SystemExit(f"{label}: parameters differ: {sorted(ours_grads ^ names)[:4]}")
    O = ours_from(oracle, state0, names, a.steps)
    R32 = torch_side(model, state0, oracle, x, y, a, torch.float32)
    R64 = torch_side(model, state0, oracle, x, y, a, torch.float64)
    fragile, sens = R64["fragile"], R64["sensitivity"]
    rank = {"ok": 0, "shown": 1, "noise": 2, "FAIL": 3}
    cells = {}
    for c in COLUMNS:
        if c in PER_STEP:
            # Each step against its own measured bound: a net can be smooth at one step and have
            # a ReLU input on the edge at another.
            cell = None
            for k in range(a.steps):
                keys = [n for n in R64[c] if step_of(n) == k]
                eo, where = worst({n: O[c][n] for n in keys}, {n: R64[c][n] for n in keys})
                et, _ = worst({n: R32[c][n] for n in keys}, {n: R64[c][n] for n in keys})
                moved = sens[k].get(c)
                v = judge(a, c, eo, et, fragile, moved, cfg.get("op"))
                if cell is None or (rank[v], eo) > (rank[cell[2]], cell[0]):
                    cell = (eo, et, v, where, moved)
            cells[c] = cell
        else:
            eo, where = worst(O[c], R64[c])
            et, _ = worst(R32[c], R64[c])
            moved = sens[0].get(c)
            cells[c] = (eo, et, judge(a, c, eo, et, fragile, moved, cfg.get("op")), where, moved)
    return cells, fragile


def fmt(cell):
    eo, et, verdict, _, sens = cell
    if verdict == "ok":
        return f"{eo:.1e}"
    moved = f" / {sens:.0e}" if sens is not None else ""
    if verdict in ("noise", "shown"):
        return f"~{eo:.0e} / {et:.0e}{moved}"
    return f"**{eo:.1e}** / {et:.0e}{moved}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("--bin", help="the resnet-lab binary (default: target/release or target/debug)")
    ap.add_argument("--tol", type=float, default=1e-4, help="largest relative error allowed")
    ap.add_argument("--batch", type=int, default=16, help="images per batch for whole nets")
    ap.add_argument("--size", type=int, default=16, help="image side for whole nets")
    ap.add_argument("--op-batch", type=int, default=8)
    ap.add_argument("--op-size", type=int, default=12)
    ap.add_argument("--channels", type=int, default=3)
    ap.add_argument("--batches", type=int, default=10, help="distinct batches (step k uses k mod this)")
    ap.add_argument("--width", type=int, default=16)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--lr", type=float, default=0.1)
    ap.add_argument("--momentum", type=float, default=0.9)
    ap.add_argument("--wd", type=float, default=1e-4)
    ap.add_argument("--threads", type=int, default=2, help="our engine's threads")
    ap.add_argument("--only", nargs="+", help="run only rows whose label contains one of these")
    a = ap.parse_args()
    a.bin = find_binary(a.bin)

    print(f"ResNet Lab vs PyTorch {torch.__version__} (float64 as the reference): worst relative error per column. "
          f"Whole nets: batch {a.batch}x{a.channels}x{a.size}x{a.size}; single layers: {a.op_batch}x{a.channels}x{a.op_size}x{a.op_size}; "
          f"{a.steps} SGD steps, lr {a.lr}, momentum {a.momentum}, weight decay {a.wd}; tolerance {a.tol:g}. "
          f"\"~ours / torch32 / moved\": above the tolerance in a net with fragile ReLU inputs, beside PyTorch float32's own error "
          f"and how far PyTorch float64 itself moves (at that step) when the input moves by 1e-6 or 1e-7 relative (largest of {len(SENS) * NUDGES} nudges); passes within "
          f"{NOISE:g}x the larger of the two.\n")
    print("| net | " + " | ".join(COLUMNS) + " | fragile ReLU inputs | |")
    print("|---" * (len(COLUMNS) + 3) + "|", flush=True)
    failed = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, (label, cfg) in enumerate(CONFIGS):
            if a.only and not any(o in label for o in a.only):
                continue
            cells, fragile = compare_config(i, label, cfg, a, tmp)
            bad = [c for c in COLUMNS if cells[c][2] == "FAIL"]
            # Each row as soon as it is known, so a long run shows its progress.
            print(f"| {label} | " + " | ".join(fmt(cells[c]) for c in COLUMNS)
                  + f" | {fragile} | {'ok' if not bad else 'MISMATCH'} |", flush=True)
            for c in bad:
                failed.append(f"{label}, {c}: {cells[c][3]} off by {cells[c][0]:.2e} (PyTorch float32: {cells[c][1]:.2e})")
            print(f"{label}: {'ok' if not bad else 'MISMATCH'}", file=sys.stderr, flush=True)
            for c in COLUMNS:
                eo, et, verdict, where, _ = cells[c]
                if verdict != "ok":
                    print(f"    {c}: worst {where} {eo:.1e} (torch32 {et:.1e}, {verdict})", file=sys.stderr)
    if failed:
        print("\nmismatches:\n  " + "\n  ".join(failed))
        sys.exit(1)


if __name__ == "__main__":
    main()
