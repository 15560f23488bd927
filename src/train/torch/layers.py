import torch
from torch import nn
import torch.nn.functional as F


def _put(parent, path, module):
    """parent.a.b.c = module, creating plain containers for a and a.b, so names can nest."""
    *outer, last = path.split(".")
    for part in outer:
        if not hasattr(parent, part):
            parent.add_module(part, nn.Module())
        parent = getattr(parent, part)
    parent.add_module(last, module)


class Sequence(nn.Module):
    """Named layers run in order. Each layer is an attribute under its ResNet Lab name, so
    state_dict() keys are those names plus .weight, .bias, .running_mean, ..."""

    def __init__(self, layers):
        super().__init__()
        self._names = []
        for name, module in layers:
            _put(self, name, module)
            self._names.append(name)

    def forward(self, x):
        for name in self._names:
            x = self.get_submodule(name)(x)
        return x


class ZeroPad:
    """The paper's option A shortcut: keep every stride-th pixel and append zero channels.
    It has no parameters."""

    def __init__(self, stride, extra):
        self.stride, self.extra = stride, extra

    def __call__(self, x):
        x = x[:, :, :: self.stride, :: self.stride]
        return F.pad(x, (0, 0, 0, 0, 0, self.extra))


class Projection(nn.Module):
    """The paper's option B shortcut: a strided 1x1 convolution and batch norm."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel_size=1, stride=stride, padding=0, bias=False)
        self.bn = nn.BatchNorm2d(cout)

    def forward(self, x):
        return self.bn(self.conv(x))


class Block(Sequence):
    """A residual block: out = scale * body(x) + shortcut(x), where the shortcut is "identity",
    ZeroPad(...) (option A) or ("name", Projection(...)) (option B). With shortcut="none" (a
    plain twin's block) out = body(x). The ReLU after the addition is the next layer."""

    def __init__(self, body, shortcut="identity", scale=1.0):
        super().__init__(body)
        self._residual = shortcut != "none"
        self._pad = shortcut if isinstance(shortcut, ZeroPad) else None
        self._proj = None
        if isinstance(shortcut, tuple):
            name, module = shortcut
            _put(self, name, module)
            self._proj = name
        self._scale = scale

    def forward(self, x):
        y = super().forward(x)
        if not self._residual:
            return y
        if self._proj is not None:
            s = self.get_submodule(self._proj)(x)
        elif self._pad is not None:
            s = self._pad(x)
        else:
            s = x
        return y + s if self._scale == 1.0 else self._scale * y + s


class GlobalAvgPool(nn.Module):
    """Each channel plane becomes its mean: [N, C, H, W] -> [N, C, 1, 1]."""

    def forward(self, x):
        return x.mean((2, 3), keepdim=True)


class Linear(nn.Linear):
    """A fully connected layer on the flattened input; its output stays 4-D ([N, out, 1, 1]) so
    any layer can follow it, as in ResNet Lab."""

    def forward(self, x):
        return super().forward(x.flatten(1))[:, :, None, None]
