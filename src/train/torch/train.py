"""Continue training the net in model.py with PyTorch, on one machine or many.

Written by `resnet-lab export-torch`; needs torch and safetensors (pip install torch safetensors).

    # one process
    python train.py --data DIR --epochs 10
    # two processes on this machine (CPU: gloo backend; with GPUs: nccl, one process per GPU)
    torchrun --nproc_per_node=2 train.py --data DIR --epochs 10
    # several machines: the same command on each, e.g. two machines with 4 GPUs each
    torchrun --nnodes=2 --node_rank=0 --master_addr=10.0.0.1 --master_port=29500 \
        --nproc_per_node=4 train.py --data DIR --epochs 10

DIR holds IDX files (`resnet-lab export-data --format idx` writes them: train-images-idx3-ubyte,
train-labels-idx1-ubyte, t10k-...; .gz works too) or CIFAR-10/100 binary batches, with images
of the size the net was trained on (INPUT_SHAPE in model.py). Pixels are normalised as in
ResNet Lab: (x / 255 - MEAN) / STD per channel, MEAN and STD from model.py.

Training starts from weights.safetensors and uses the run's hyper-parameters (HYPER in model.py)
unless flags say otherwise; --batch is the global batch, split evenly over the processes
(DistributedDataParallel averages their gradients, so N processes take the same steps one
process would, up to batch norm, which each process computes on its own share). After every
epoch rank 0 writes OUT/weights.safetensors with the same tensor names, so

    resnet-lab import-torch RUN OUT/weights.safetensors

brings the net back into ResNet Lab.
"""
import argparse
import ctypes
import glob
import gzip
import json
import os
import struct

import torch
import torch.distributed as dist
import torch.nn.functional as F
from safetensors.torch import load_file
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset

from model import CLASSES, HYPER, INPUT_SHAPE, MEAN, STD, Net


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


def read_bytes(path):
    with (gzip.open(path) if path.endswith(".gz") else open(path, "rb")) as f:
        return f.read()


def read_idx(path):
    data = read_bytes(path)
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise SystemExit(f"{path} is not an IDX file of unsigned bytes")
    ndim = data[3]
    dims = struct.unpack(">" + "I" * ndim, data[4 : 4 + 4 * ndim])
    values = torch.frombuffer(bytearray(data[4 + 4 * ndim :]), dtype=torch.uint8)
    return values.reshape(dims)


def find(folder, *patterns):
    for p in patterns:
        hits = sorted(glob.glob(os.path.join(folder, p)))
        if hits:
            return hits[0]
    return None


def load_idx(folder, split):
    prefix = "train" if split == "train" else "t10k"
    images = find(folder, f"{prefix}-images*", f"*{prefix}*images*")
    labels = find(folder, f"{prefix}-labels*", f"*{prefix}*labels*")
    if images is None or labels is None:
        return None
    x = read_idx(images)
    if x.dim() == 3:
        x = x[:, None]
    return x, read_idx(labels).long()


def load_cifar(folder, split):
    names = ["data_batch_*.bin", "train.bin"] if split == "train" else ["test_batch.bin", "test.bin"]
    files = [f for n in names for f in sorted(glob.glob(os.path.join(folder, n)))]
    if not files:
        return None
    label_bytes = 2 if len(CLASSES) > 10 else 1  # CIFAR-100 records carry coarse and fine labels
    record = label_bytes + 3 * 32 * 32
    raw = torch.cat([torch.frombuffer(bytearray(read_bytes(f)), dtype=torch.uint8) for f in files])
    raw = raw[: len(raw) // record * record].reshape(-1, record)
    return raw[:, label_bytes:].reshape(-1, 3, 32, 32), raw[:, label_bytes - 1].long()


def load(folder, split):
    got = load_idx(folder, split) or load_cifar(folder, split)
    if got is None:
        if split == "test":
            return None
        raise SystemExit(f"{folder} holds no IDX or CIFAR training files")
    x, y = got
    if tuple(x.shape[1:]) != tuple(INPUT_SHAPE):
        raise SystemExit(
            f"{folder}: images are {tuple(x.shape[1:])} but the net takes {tuple(INPUT_SHAPE)} (C, H, W)"
        )
    if int(y.max()) >= len(CLASSES):
        raise SystemExit(f"{folder}: labels go up to {int(y.max())} but the net has {len(CLASSES)} classes")
    return TensorDataset(x, y)


MEAN_T = torch.tensor(MEAN).view(1, -1, 1, 1)
STD_T = torch.tensor(STD).view(1, -1, 1, 1)


def normalise(x):
    return (x.float() / 255.0 - MEAN_T.to(x.device)) / STD_T.to(x.device)


def augment(x, pad_crop, hflip):
    """Zero-pad and crop back at a random offset, and mirror half the images (on raw bytes)."""
    n, _, h, w = x.shape
    if pad_crop:
        p = pad_crop
        padded = F.pad(x, (p, p, p, p))
        dy = torch.randint(0, 2 * p + 1, (n,))
        dx = torch.randint(0, 2 * p + 1, (n,))
        x = torch.stack([padded[i, :, dy[i] : dy[i] + h, dx[i] : dx[i] + w] for i in range(n)])
    if hflip:
        flip = torch.rand(n) < 0.5
        x = torch.where(flip[:, None, None, None], x.flip(3), x)
    return x


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", required=True, help="folder of IDX files or CIFAR binary batches")
    ap.add_argument("--weights", default="weights.safetensors", help="weights to start from")
    ap.add_argument("--out", default="trained", help="folder for the trained weights")
    ap.add_argument("--epochs", type=int, default=HYPER["epochs"])
    ap.add_argument("--batch", type=int, default=HYPER["batch"], help="global batch size")
    ap.add_argument("--lr", type=float, default=HYPER["lr"])
    ap.add_argument("--momentum", type=float, default=HYPER["momentum"])
    ap.add_argument("--wd", type=float, default=HYPER["weight_decay"])
    ap.add_argument("--seed", type=int, default=HYPER["seed"])
    ap.add_argument("--max-steps", type=int, default=0, help="stop after this many steps (0: no limit)")
    ap.add_argument("--sync-bn", action="store_true", help="batch statistics over all processes (GPUs only)")
    a = ap.parse_args()

    distributed = "WORLD_SIZE" in os.environ
    cuda = torch.cuda.is_available()
    if distributed:
        dist.init_process_group("nccl" if cuda else "gloo")
        rank, world = dist.get_rank(), dist.get_world_size()
    else:
        rank, world = 0, 1
    device = torch.device(f"cuda:{int(os.environ.get('LOCAL_RANK', 0))}" if cuda else "cpu")
    if cuda:
        torch.cuda.set_device(device)
    torch.manual_seed(a.seed + rank)

    net = Net()
    net.load_state_dict(load_file(a.weights))
    if a.sync_bn and distributed and cuda:
        net = torch.nn.SyncBatchNorm.convert_sync_batchnorm(net)
    net = net.to(device)
    model = DistributedDataParallel(net) if distributed else net
    if HYPER["optimizer"] == "adam":
        opt = torch.optim.Adam(model.parameters(), lr=a.lr, betas=(a.momentum, 0.999), weight_decay=a.wd)
    else:
        opt = torch.optim.SGD(model.parameters(), lr=a.lr, momentum=a.momentum, weight_decay=a.wd)

    train = load(a.data, "train")
    test = load(a.data, "test")
    if a.batch % world:
        raise SystemExit(f"--batch {a.batch} does not split evenly over {world} processes")
    sampler = DistributedSampler(train, world, rank, shuffle=True, seed=a.seed, drop_last=True)
    loader = DataLoader(train, batch_size=a.batch // world, sampler=sampler, drop_last=True)
    os.makedirs(a.out, exist_ok=True)
    step = 0
    for epoch in range(a.epochs):
        sampler.set_epoch(epoch)
        model.train()
        stats = torch.zeros(3, device=device)  # loss sum, wrong, seen
        for x, y in loader:
            if a.max_steps and step >= a.max_steps:
                break
            x = normalise(augment(x, HYPER["pad_crop"], HYPER["hflip"]).to(device))
            y = y.to(device)
            logits = model(x)
            loss = F.cross_entropy(logits, y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
            stats += torch.stack([loss.detach() * len(y), (logits.argmax(1) != y).sum().float(), torch.tensor(float(len(y)), device=device)])
        if distributed:
            dist.all_reduce(stats)
        line = f"epoch {epoch + 1}: train err {stats[1] / stats[2].clamp(min=1) * 100:.2f}%  loss {stats[0] / stats[2].clamp(min=1):.4f}"
        if test is not None and rank == 0:
            net.eval()
            wrong = 0
            with torch.no_grad():
                for x, y in DataLoader(test, batch_size=256):
                    wrong += int((net(normalise(x.to(device))).argmax(1) != y.to(device)).sum())
            line += f"  test err {wrong / len(test) * 100:.2f}%"
        if rank == 0:
            print(line, flush=True)
            state = {k: v.detach().cpu().contiguous() for k, v in net.state_dict().items()}
            save_safetensors(state, os.path.join(a.out, "weights.safetensors"), {"format": "pt"})
        if a.max_steps and step >= a.max_steps:
            break
    if rank == 0:
        print(f"wrote {os.path.join(a.out, 'weights.safetensors')}")
    if distributed:
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
