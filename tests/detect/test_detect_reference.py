"""/detect against a reference pipeline: the same model input (the letterboxed photo that
`artistry detect --save-input` writes) run by ONNX Runtime (tests/nn/ort_run.js, npm
onnxruntime-node), decoded and NMS'd here in numpy as Ultralytics and YOLOX do, boxes
mapped back with the letterbox geometry computed here from the photo's size. Every
confident detection must be on both sides with the same label, its box within 2 px and its
score within 0.01. The acceptance objects must be there: dog, bicycle and truck in
dog-bicycle-truck.jpg, a bed in each bedroom photo.

Where they disagree, the engine alone is checked on the very input ONNX Runtime saw: its raw
output must be within ONNX Runtime's own movement under a one-float-step change of that
input (dynamically quantised models can be that unstable; see `instability`), or the test
fails; an unstable model is then held only to finding the named objects.

Prints one line per model and photo with the largest differences (pytest -s)."""
import base64
import subprocess

import numpy as np
import pytest
import requests

from harness import artistry_bin
from detect_helpers import (BEDROOMS, MODELS, PHOTO_SIZES, PHOTOS, REPO, photo, start_detect,
                            stop_checked)

CONF, IOU = 0.25, 0.45
# Detections this close to the threshold may fall on either side of it in one engine.
MARGIN = 0.02
BOX_PX, SCORE = 2.0, 0.01

MODEL_CASES = {
    "yolov8n.onnx": ("ultralytics", {"dog", "bicycle", "truck"}, True),
    "yolov8n-int8.onnx": ("ultralytics", {"dog", "bicycle", "truck"}, True),
    "yolo11n-int8-320.onnx": ("ultralytics", set(), False),
    "yolox-nano.onnx": ("yolox", {"dog", "bicycle", "truck"}, True),
}
COCO = (MODELS / "coco.names").read_text().split("\n")[:80]


def nms(boxes, scores, classes, iou, max_det=300):
    order = np.argsort(-scores, kind="stable")
    keep = []
    for i in order:
        ok = True
        for k in keep:
            if classes[k] != classes[i]:
                continue
            a, b = boxes[k], boxes[i]
            iw = min(a[2], b[2]) - max(a[0], b[0])
            ih = min(a[3], b[3]) - max(a[1], b[1])
            if iw <= 0 or ih <= 0:
                continue
            inter = iw * ih
            union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
            if inter / union > iou:
                ok = False
                break
        if ok:
            keep.append(i)
            if len(keep) == max_det:
                break
    return keep


def reference(family, out, size, in_size):
    """Detections [(label, score, x1, y1, x2, y2)] in photo pixels."""
    w, h = size
    iw, ih = in_size
    if family == "ultralytics":
        o = out[0]
        cls = o[4:]
        best, arg = cls.max(0), cls.argmax(0)
        m = best > CONF
        cx, cy, bw, bh = (o[k][m] for k in range(4))
        boxes = np.stack([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2], 1)
        scores, classes = best[m], arg[m]
        # Ultralytics LetterBox + scale_boxes
        gain = min(ih / h, iw / w)
        px = round((iw - w * gain) / 2 - 0.1)
        py = round((ih - h * gain) / 2 - 0.1)
    else:
        o = out[0]
        rows = []
        for stride in (8, 16, 32):
            gh, gw = ih // stride, iw // stride
            ys, xs = np.meshgrid(np.arange(gh), np.arange(gw), indexing="ij")
            rows.append((np.stack([xs.ravel(), ys.ravel()], 1), np.full(gh * gw, stride)))
        grid = np.concatenate([g for g, _ in rows]).astype(np.float32)
        strides = np.concatenate([s for _, s in rows]).astype(np.float32)
        cx = (o[:, 0] + grid[:, 0]) * strides
        cy = (o[:, 1] + grid[:, 1]) * strides
        bw = np.exp(o[:, 2]) * strides
        bh = np.exp(o[:, 3]) * strides
        cls = o[:, 5:]
        best, arg = cls.max(1), cls.argmax(1)
        score = o[:, 4] * best
        m = score > CONF
        boxes = np.stack([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2], 1)[m]
        scores, classes = score[m], arg[m]
        # YOLOX preproc: top-left, ratio min(H/h, W/w)
        gain = min(ih / h, iw / w)
        px = py = 0
    keep = nms(boxes, scores, classes, IOU)
    dets = []
    for i in keep:
        x1, y1, x2, y2 = boxes[i]
        x1, x2 = (np.clip((v - px) / gain, 0, w) for v in (x1, x2))
        y1, y2 = (np.clip((v - py) / gain, 0, h) for v in (y1, y2))
        dets.append((COCO[classes[i]], float(scores[i]), x1, y1, x2, y2))
    return dets


def ort_run(model, npy, out):
    p = subprocess.run(["node", str(REPO / "tests" / "nn" / "ort_run.js"), str(model), "--input",
                        f"images={npy}", "--output", str(out)], capture_output=True, text=True,
                       timeout=900)
    assert p.returncode == 0, p.stderr
    name = [f for f in ("output0.npy", "output.npy") if (out / f).exists()][0]
    return np.load(out / name)


def run_ort(model, name, tmp):
    npy = tmp / "input.npy"
    p = subprocess.run([artistry_bin(), "detect", str(PHOTOS / name), "--model", str(model),
                        "--save-input", str(npy), "--input-only"], capture_output=True, text=True,
                       timeout=900)
    assert p.returncode == 0, p.stderr
    shape = np.load(npy).shape
    return ort_run(model, npy, tmp / "ort"), (shape[3], shape[2])


def match(ours, ref):
    """Pairs each confident detection of one side with the same label's best-overlapping
    one on the other; returns (pairs, unmatched)."""
    def iou(a, b):
        iw = min(a[2], b[2]) - max(a[0], b[0])
        ih = min(a[3], b[3]) - max(a[1], b[1])
        if iw <= 0 or ih <= 0:
            return 0
        i = iw * ih
        return i / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - i)

    pairs, missing = [], []
    for side, other in ((ours, ref), (ref, ours)):
        for d in side:
            if d[1] < CONF + MARGIN:
                continue
            cands = [o for o in other if o[0] == d[0]]
            best = max(cands, key=lambda o: iou(d[2:], o[2:]), default=None)
            if best is None or iou(d[2:], best[2:]) < 0.5:
                missing.append(d)
            elif side is ours:
                pairs.append((d, best))
    return pairs, missing


@pytest.fixture(scope="module", params=list(MODEL_CASES))
def model_service(request):
    model = MODELS / request.param
    svc = start_detect({"MODEL_PATH": str(model), "DETECT_INTERIOR_FILTER": "false",
                        "HTTP_REQUEST_TIMEOUT": "900"})
    yield request.param, model, svc
    stop_checked(svc)


@pytest.mark.parametrize("name", ["dog-bicycle-truck.jpg", "person-dog-horse.jpg"] + BEDROOMS)
def instability(model, tmp):
    """When /detect and the reference disagree: a sentence saying the model itself is that
    unstable at this input, or a failure. The engine runs the very input ONNX Runtime saw;
    its raw output must either be within 1e-3 of the output's range of ONNX Runtime's (then
    the difference is in this service's pre- or post-processing: a failure), or no further
    from it than ONNX Runtime moves itself when each input value moves by at most one float
    step. Dynamically quantised models can be that unstable: a float difference in the
    last bit moves a tensor's min or max, hence its scale, and values near a rounding tie
    quantise one step apart, which later layers amplify."""
    p = subprocess.run([artistry_bin(), "nn", "run", str(model), "--input",
                        f"images={tmp}/input.npy", "--output", f"{tmp}/ours"],
                       capture_output=True, text=True, timeout=600)
    if p.returncode != 0:
        pytest.fail(f"nn cannot run {model.name}: {p.stderr.strip()}")
    name = [f for f in ("output0.npy", "output.npy") if (tmp / "ort" / f).exists()][0]
    ours, ref = np.load(tmp / "ours" / name), np.load(tmp / "ort" / name)
    diff = float(np.abs(ours - ref).max())
    if diff <= 1e-3 * float(np.abs(ref).max()):
        return None
    x = np.load(tmp / "input.npy")
    self_diff = 0.0
    for seed in (0, 1):
        rng = np.random.default_rng(seed)
        step = np.spacing(x) * rng.choice([-1.0, 1.0], x.shape) * (rng.random(x.shape) < 0.5)
        np.save(tmp / f"input-{seed}.npy", (x + step).astype(np.float32))
        moved = ort_run(model, tmp / f"input-{seed}.npy", tmp / f"ort-{seed}")
        self_diff = max(self_diff, float(np.abs(moved - ref).max()))
    if diff > self_diff:
        pytest.fail(f"nn output of {model.name} differs from ONNX Runtime on the same input by "
                    f"{diff:.4g}, more than ONNX Runtime's own output moves ({self_diff:.4g}) "
                    "when the input moves by one float step")
    return (f"{model.name} is unstable at this input: ONNX Runtime's output moves by "
            f"{self_diff:.4g} when the input moves by one float step; ours is {diff:.4g} "
            "from it")


def check(svc, file, model, name, tmp):
    family, must_find, beds = MODEL_CASES[file]
    out, in_size = run_ort(model, name, tmp)
    r = requests.post(svc.url("/detect"), json={
        "image_b64": base64.b64encode(photo(name)).decode(), "conf_threshold": CONF,
        "iou_threshold": IOU}, timeout=900)
    if r.status_code != 200:
        return [f"/detect answered {r.status_code}: {r.text}"]
    ours = [(b["label"], b["score"], b["x1"], b["y1"], b["x2"], b["y2"])
            for b in r.json()["bboxes"]]
    ref = reference(family, out, PHOTO_SIZES[name], in_size)
    pairs, missing = match(ours, ref)
    dbox = max((abs(a - b) for o, f in pairs for a, b in zip(o[2:], f[2:])), default=0)
    dscore = max((abs(o[1] - f[1]) for o, f in pairs), default=0)
    print(f"\n{file} {name}: {len(pairs)} detections, max |box| {dbox:.2f} px, "
          f"max |score| {dscore:.4f}: " + ", ".join(f"{o[0]} {o[1]:.2f}" for o, _ in pairs))
    problems = []
    if missing:
        problems.append(f"only on one side: {missing}; ours {ours}; reference {ref}")
    if dbox > BOX_PX:
        problems.append(f"a box is {dbox:.2f} px from the reference's")
    if dscore > SCORE:
        problems.append(f"a score is {dscore:.4f} from the reference's")
    labels = {d[0] for d in ours}
    if name == "dog-bicycle-truck.jpg" and not must_find <= labels:
        problems.append(f"expected {must_find} among {labels}")
    if name in BEDROOMS and beds and "bed" not in labels:
        problems.append(f"no bed among {labels}")
    return problems


@pytest.mark.parametrize("name", ["dog-bicycle-truck.jpg", "person-dog-horse.jpg"] + BEDROOMS)
def test_matches_onnxruntime(model_service, name, tmp_path):
    file, model, svc = model_service
    problems = check(svc, file, model, name, tmp_path)
    if not problems:
        return
    why = instability(model, tmp_path)
    if why is None:
        pytest.fail("; ".join(problems))
    # The boxes and scores of an unstable model cannot be held to the reference's; the
    # objects the acceptance names must still be found.
    print(f"{why}; so not compared: {'; '.join(problems)}")
    missing = [p for p in problems if p.startswith(("expected", "no bed", "/detect answered"))]
    assert not missing, "; ".join(missing)
