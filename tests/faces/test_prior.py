"""The expression prior: its numpy layers against plain loops, its outputs on real faces,
and how its probabilities are mixed into the dataset model's."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from faces import prior
from faces.detect import DetectParams
from faces.models import load_models
from model.features import gray_chips
from model.predict import aligned_faces
from tests.conftest import SHARED_FER


def _naive_conv3(x, k, same):
    if same:
        x = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    n, h, w, _ = x.shape
    out = np.zeros((n, h - 2, w - 2, k.shape[3]))
    for r in range(h - 2):
        for c in range(w - 2):
            out[:, r, c] = np.einsum("nijc,ijco->no", x[:, r : r + 3, c : c + 3], k)
    return out


def _naive_max_pool(x):
    # 3x3 windows at stride 2; TensorFlow's 'same' pads after first, with -inf.
    n, h, w, ch = x.shape
    oh, ow = -(-h // 2), -(-w // 2)
    pad = max((oh - 1) * 2 + 3 - h, 0)
    lo = pad // 2
    out = np.full((n, oh, ow, ch), -np.inf)
    for r in range(oh):
        for c in range(ow):
            for i in range(3):
                for j in range(3):
                    y, z = 2 * r + i - lo, 2 * c + j - lo
                    if 0 <= y < h and 0 <= z < w:
                        out[:, r, c] = np.maximum(out[:, r, c], x[:, y, z])
    return out


@pytest.mark.parametrize("same", [False, True])
def test_convolution_matches_plain_loops(same):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 7, 6, 3)).astype(np.float32)
    k = rng.normal(size=(3, 3, 3, 4)).astype(np.float32)
    assert np.allclose(prior._conv3(x, k, same), _naive_conv3(x, k, same), atol=1e-4)


def test_depthwise_convolution_matches_plain_loops():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2, 5, 6, 3)).astype(np.float32)
    k = rng.normal(size=(3, 3, 3)).astype(np.float32)
    full = np.zeros((3, 3, 3, 3), dtype=np.float32)  # the same as a diagonal full kernel
    for ch in range(3):
        full[:, :, ch, ch] = k[:, :, ch]
    assert np.allclose(prior._depthwise3(x, k), _naive_conv3(x, full, True), atol=1e-4)


@pytest.mark.parametrize("side", [8, 15, 30])
def test_max_pooling_matches_plain_loops(side):
    x = np.random.default_rng(side).normal(size=(2, side, side, 2)).astype(np.float32)
    assert np.array_equal(prior._max_pool(x), _naive_max_pool(x))


def test_smiling_astronaut_is_happy():
    from skimage import data_dir

    img = Image.open(Path(data_dir) / "astronaut.png").convert("RGB")
    faces = [face for _, face in aligned_faces(load_models(), img, DetectParams())]
    assert len(faces) == 1
    p = prior.forward(prior.default_network(), gray_chips(faces, prior.INPUT_SIDE, prior.MARGIN))
    assert p.shape == (1, 7)
    assert np.isclose(p.sum(), 1.0, atol=1e-5)
    assert prior.LABELS[int(p.argmax())] == "happy"
    assert p.max() > 0.8


@pytest.mark.skipif(not SHARED_FER.is_dir(), reason="needs ../shared/testdata/fer2013_privatetest")
def test_network_reads_real_fer2013_faces():
    # 40 faces of each class, read as FER2013 crops (the network was trained on such):
    # a broken layer gives chance (about 1 in 7); the network scores 0.58 on all 3,589.
    gray, truth = [], []
    for label in prior.LABELS:
        for path in sorted((SHARED_FER / label).iterdir())[:40]:
            im = Image.open(path).convert("L").resize((64, 64), Image.Resampling.BILINEAR)
            gray.append(np.asarray(im))
            truth.append(label)
    p = prior.forward(prior.default_network(), np.stack(gray))
    predicted = np.array(prior.LABELS)[p.argmax(axis=1)]
    assert (predicted == np.array(truth)).mean() > 0.45


def test_columns_resolve_aliases_and_leave_unknown_classes_out():
    cols = prior.columns_for(["happiness", "sad", "rejected", "contempt", "anger"])
    assert cols == [prior.LABELS.index("happy"), prior.LABELS.index("sad"), -1, -1, 0]


def test_mix_keeps_rows_whole_and_unknown_classes_untouched():
    rng = np.random.default_rng(3)
    p = rng.dirichlet(np.ones(4), size=20)  # classes: happy, sad, rejected, contempt
    q = rng.dirichlet(np.ones(7), size=20).astype(np.float32)
    cols = prior.columns_for(["happy", "sad", "rejected", "contempt"])
    out = prior.mix(p, q, cols, 0.5)
    assert np.allclose(out.sum(axis=1), 1.0)
    assert np.array_equal(out[:, 2:], p[:, 2:])  # the prior has no word for these
    share = p[:, :2].sum(axis=1)
    q_known = q[:, [cols[0], cols[1]]] / q[:, [cols[0], cols[1]]].sum(axis=1, keepdims=True)
    assert np.allclose(out[:, :2], 0.5 * p[:, :2] + 0.5 * share[:, None] * q_known, atol=1e-6)
    assert np.array_equal(prior.mix(p, q, cols, 0.0), p)
    # One known class: nothing to compare it with, the prior stays out.
    assert np.array_equal(prior.mix(p, q, [3, -1, -1, -1], 0.5), p)


def test_shipped_weights_are_checked(tmp_path):
    with np.load(prior.resources.files("faces") / "weights" / prior.WEIGHTS_FILE) as f:
        arrays = {k: f[k] for k in f.files}
    arrays["labels"] = np.array(["a", "b", "c", "d", "e", "f", "g"])
    bad = tmp_path / "w.npz"
    np.savez(bad, **arrays)
    with pytest.raises(ValueError, match="outputs"):
        prior.load_network(bad)
