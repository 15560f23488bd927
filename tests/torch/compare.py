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
     the trained net, running statistics included), and PyTorch loads the same weights and
     does the same in float64, twice (the replay and the plain run below). Each SGD step
     starts from our state before that step (parameters and momentum), so the 10 steps are 10
     checks of one step each; the free-running trajectory is the last column.
  3. Each cell is the worst relative error over the tensors of that column,
     max|ours - torch| / max|torch| per tensor (the denominator floored at 1e-2 of the
     column's largest value, for tensors that are zero in exact arithmetic, such as the bias of
     a Linear layer followed by batch norm). num_batches_tracked must match exactly.

The verdict is a replay, so no cell is decided by luck. Two float32 engines part ways for two
reasons: a ReLU input within rounding distance of zero lands on either side (a "flip", which
changes the gradient upstream of it by about 1e-2), and deep plain nets amplify rounding layer
by layer (plain-56 at its initial weights: 1e-7 relative on the input moves PyTorch float64's
train-mode logits by about 2e-4, and PyTorch float32 is several 1e-4 off float64). So `dev-step --relu-outputs` also writes
every ReLU's output in each step's train-mode forward pass (the nets have no other discrete
choice: no max pooling), and PyTorch float64 replays each step layer by layer: every ReLU passes
on our output instead of its own, with the gradient through our mask (where our output is > 0).
Each layer is so checked on the same input as ours, and no difference carries to the next one.
A cell passes iff ours is within --tol (1e-4) of the replay, the ReLU outputs too (the one
PyTorch computes from our previous layers' output against ours), and every ReLU input whose
sign in the replay differs from our mask is within --edge (1e-3) of zero relative to the RMS of
that ReLU's input: a real bug would flip inputs far from zero. The plain run (PyTorch float64 on
its own) is shown beside any cell it differs from by more than --tol, with the number of its
ReLU inputs whose sign differs from our mask and how close to zero they are: "1.1e-05 (plain
1.5e-01: 2 flips <= 6e-05 rms)". The free-running 10 steps part ways without the replay in
every engine (PyTorch float32 and float64 too); replayed (PyTorch's own parameters and momentum
through all 10 steps, fed our ReLU outputs of each) they are judged like the rest.

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

COLUMNS = ["logits", "loss", "grads", "eval logits (init)", "ReLU outputs", "step loss", "params after step",
           "momentum after step", "BN buffers after step", "eval logits (after)",
           "free run: params after 10 steps"]
# Which steps' replayed ReLUs a column depends on: step 0's train-mode pass also gives logits,
# loss and grads, the free run takes all; eval-mode passes replay nothing (without a backward
# pass a ReLU input near zero moves the values by that little input only).
STEP0 = ("logits", "loss", "grads")
PER_STEP = ("ReLU outputs", "step loss", "params after step", "momentum after step", "BN buffers after step")
FREE = "free run: params after 10 steps"


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


def torch_side(model, state0, oracle, relus, x, y, a, replay):
    """PyTorch float64's numbers, each SGD step from our state before it. With `replay`, every
    ReLU of a train-mode pass at step k passes on our output of that step instead of its own:
    our values, with the gradient through our mask (where our output is positive). Either way
    each ReLU's own output is checked against ours ("ReLU outputs", per step: step k's pass),
    and the inputs whose sign differs from our mask are counted ("flips": in the replay, on the
    same input as ours; in the plain run, on its own)."""
    dtype = torch.float64
    cur = {"step": None, "check": None}

    def hook(key):
        def f(module, inp, out):
            if not module.training or cur["step"] is None:
                return None
            z, ours = inp[0], relus[cur["step"]][key]
            mask = ours > 0
            own = z * mask.to(dtype) if replay else out
            if cur["check"] is not None:
                k = cur["step"]
                # Our output against the one computed here from the same input (for the
                # replay: our previous layers' output), so each layer is judged on its own.
                err = (own.detach() - ours.to(dtype)).abs().max().item() / max(own.detach().abs().max().item(), 1e-30)
                cur["check"]["ReLU outputs"][f"{k}.{key}"] = err
                zd = z.detach()
                diff = (zd > 0) != mask
                n = int(diff.sum())
                if n:
                    rms = zd.pow(2).mean().sqrt().item()
                    cur["check"]["flips"].append((key, n, zd[diff].abs().max().item() / max(rms, 1e-300)))
            if not replay:
                return None
            return own + (ours.to(dtype) - own).detach()
        return f

    def make(state):
        net = model.Net()
        net.load_state_dict(state, strict=True)
        for name, m in net.named_modules():
            if isinstance(m, torch.nn.ReLU):
                m.register_forward_hook(hook(name))
        return net.to(dtype)

    def sgd(net, k):
        opt = torch.optim.SGD(net.parameters(), lr=a.lr, momentum=a.momentum, weight_decay=a.wd)
        if k > 0:
            for n, p in net.named_parameters():
                opt.state[p]["momentum_buffer"] = oracle[f"momentum{k - 1}.{n}"].to(dtype).clone()
        return opt

    R = {c: {} for c in COLUMNS}
    net = make(state0)
    net.eval()
    with torch.no_grad():
        R["eval logits (init)"]["logits"] = net(x[0].to(dtype))
    net.train()
    cur["step"] = 0
    logits = net(x[0].to(dtype))
    loss = F.cross_entropy(logits, y[0])
    loss.backward()
    R["logits"]["logits"] = logits.detach()
    R["loss"]["loss"] = loss.detach()
    R["grads"] = {n: p.grad for n, p in net.named_parameters()}
    names = set(R["grads"])
    R["flips"] = []
    for k in range(a.steps):
        state = state0 if k == 0 else {n: oracle[f"state{k - 1}.{n}"] for n in state0}
        net = make(state)
        opt = sgd(net, k)
        net.train()
        cur["step"], cur["check"] = k, {"ReLU outputs": R["ReLU outputs"], "flips": []}
        loss = F.cross_entropy(net(x[k % a.batches].to(dtype)), y[k % a.batches])
        R["flips"].append(cur["check"]["flips"])
        cur["check"] = None
        opt.zero_grad()
        loss.backward()
        opt.step()
        R["step loss"][f"step {k}"] = loss.detach()
        for n, t in net.state_dict().items():
            col = "params after step" if n in names else "BN buffers after step"
            R[col][f"{k}.{n}"] = t
        for n, p in net.named_parameters():
            R["momentum after step"][f"{k}.{n}"] = opt.state[p]["momentum_buffer"]
    cur["step"] = None
    net = make({n: oracle[f"state{a.steps - 1}.{n}"] for n in state0})
    net.eval()
    with torch.no_grad():
        R["eval logits (after)"]["logits"] = net(x[0].to(dtype))
    net = make(state0)
    opt = sgd(net, 0)
    net.train()
    for k in range(a.steps):
        # The plain run is free; the replay passes on our ReLU outputs of every step.
        cur["step"] = k if replay else None
        loss = F.cross_entropy(net(x[k % a.batches].to(dtype)), y[k % a.batches])
        opt.zero_grad()
        loss.backward()
        opt.step()
    R[FREE] = {n: p.detach() for n, p in net.named_parameters()}
    return R


def judge(a, eo, ep, local):
    """`eo`: ours against the replay; `ep`: against the plain run; `local`: the replay's flips
    (key, count, |x| / rms) in the steps this cell depends on."""
    if eo > a.tol or any(rel >= a.edge for _, _, rel in local):
        return "FAIL"
    return "ok" if ep <= a.tol else "plain"


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
           "--seed", str(i), "--threads", str(a.threads), "--relu-outputs"]
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
    relus = [{} for _ in range(a.steps)]
    for key, t in oracle.items():
        if key.startswith("relu") and key[4:5].isdigit():
            k, relu = key[4:].split(".", 1)
            relus[int(k)][relu] = t
    modules = {n for n, m in model.Net().named_modules() if isinstance(m, torch.nn.ReLU)}
    for k, rk in enumerate(relus):
        if set(rk) != modules:
            raise SystemExit(f"{label}: step {k}: our ReLU outputs {sorted(set(rk) ^ modules)[:4]} do not match model.py's ReLUs")
    O = ours_from(oracle, state0, names, a.steps)
    RP = torch_side(model, state0, oracle, relus, x, y, a, replay=True)
    R64 = torch_side(model, state0, oracle, relus, x, y, a, replay=False)
    rank = {"ok": 0, "plain": 1, "FAIL": 2}
    cells = {}
    for c in COLUMNS:
        if c in PER_STEP:
            # Each step against that step's replay and flips; the cell shows the worst step.
            cell = None
            for k in range(a.steps):
                keys = [n for n in RP[c] if step_of(n) == k]
                if not keys:
                    continue
                if c == "ReLU outputs":
                    # Already relative errors, one per ReLU.
                    eo, where = max((RP[c][n], n) for n in keys)
                    ep = max(R64[c][n] for n in keys)
                else:
                    eo, where = worst({n: O[c][n] for n in keys}, {n: RP[c][n] for n in keys})
                    ep, _ = worst({n: O[c][n] for n in keys}, {n: R64[c][n] for n in keys})
                v = judge(a, eo, ep, RP["flips"][k])
                if cell is None or (rank[v], eo) > (rank[cell[2]], cell[0]):
                    cell = (eo, ep, v, f"step {k}: {where}", R64["flips"][k])
            cells[c] = cell or (None, None, "ok", "", [])
        else:
            steps = [0] if c in STEP0 else range(a.steps) if c == FREE else []
            local = [f for k in steps for f in RP["flips"][k]]
            plain = [f for k in steps for f in R64["flips"][k]]
            eo, where = worst(O[c], RP[c])
            ep, _ = worst(O[c], R64[c])
            cells[c] = (eo, ep, judge(a, eo, ep, local), where, plain)
    return cells, RP["flips"], R64["flips"]


def flip_text(flips):
    n = sum(c for _, c, _ in flips)
    return f"{n} flip{'s' if n != 1 else ''} <= {max(r for _, _, r in flips):.0e} rms" if n else "no flips"


def fmt(cell):
    eo, ep, verdict, _, plain = cell
    if eo is None:
        return "-"
    if verdict == "ok":
        return f"{eo:.1e}"
    why = f"plain {ep:.1e}: {flip_text(plain)}"
    return f"{eo:.1e} ({why})" if verdict == "plain" else f"**{eo:.1e}** ({why})"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("--bin", help="the resnet-lab binary (default: target/release or target/debug)")
    ap.add_argument("--tol", type=float, default=1e-4, help="largest relative error allowed (against the replay)")
    ap.add_argument("--edge", type=float, default=1e-3,
                    help="a flip on a ReLU input farther from zero than this (relative to the RMS of that ReLU's input) fails")
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

    print(f"ResNet Lab vs PyTorch {torch.__version__} float64 replaying our run layer by layer (each ReLU passes on our output, "
          f"the gradient through our mask): worst relative error per column; a cell passes iff within {a.tol:g} of the replay "
          f"and every ReLU input where the replay's sign differs from our mask is within {a.edge:g} of that input's RMS of zero. "
          f"Whole nets: batch {a.batch}x{a.channels}x{a.size}x{a.size}; single layers: {a.op_batch}x{a.channels}x{a.op_size}x{a.op_size}; "
          f"{a.steps} SGD steps, lr {a.lr}, momentum {a.momentum}, weight decay {a.wd}. "
          f"\"(plain p: N flips <= e rms)\": above {a.tol:g} from plain PyTorch float64 (no replay), whose ReLU inputs have another sign "
          f"than our mask N times (in the worst step), at most e times the RMS of that ReLU's input from zero. "
          f"Last columns: flips over all steps, in the replay (the same input as ours) and in the plain run.\n")
    print("| net | " + " | ".join(COLUMNS) + " | flips in replay | flips vs plain | |")
    print("|---" * (len(COLUMNS) + 4) + "|", flush=True)
    failed = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, (label, cfg) in enumerate(CONFIGS):
            if a.only and not any(o in label for o in a.only):
                continue
            cells, local, plain = compare_config(i, label, cfg, a, tmp)
            bad = [c for c in COLUMNS if cells[c][2] == "FAIL"]
            everywhere = lambda flips: flip_text([f for fk in flips for f in fk])
            # Each row as soon as it is known, so a long run shows its progress.
            print(f"| {label} | " + " | ".join(fmt(cells[c]) for c in COLUMNS)
                  + f" | {everywhere(local)} | {everywhere(plain)} | {'ok' if not bad else 'MISMATCH'} |", flush=True)
            for c in bad:
                eo, ep, _, where, _ = cells[c]
                failed.append(f"{label}, {c}: {where} off the replay by {eo:.2e} (plain {ep:.2e})")
            print(f"{label}: {'ok' if not bad else 'MISMATCH'}", file=sys.stderr, flush=True)
            for k, fk in enumerate(local):
                for key, n, rel in fk:
                    print(f"    step {k}: {key}: {n} flip{'s' if n != 1 else ''} in the replay, |x| <= {rel:.1e} rms",
                          file=sys.stderr)
            for c in COLUMNS:
                eo, ep, verdict, where, f = cells[c]
                if verdict != "ok":
                    print(f"    {c}: worst {where} {eo:.1e} (plain {ep:.1e}: {flip_text(f)}; {verdict})", file=sys.stderr)
    if failed:
        print("\nmismatches:\n  " + "\n  ".join(failed))
        sys.exit(1)


if __name__ == "__main__":
    main()
