"""The detect service against CONTRACT.md §5: fields, key order, parallel arrays, the
annotated image, the interior filter and renames, bad input (each a 4xx naming the
problem), a missing or broken model (503 and /health), lazy loading, the photo cache and
50 requests at once. Models and photos come from $ARTISTRY_SHARED (default <repo>/../shared)."""
import base64
import concurrent.futures
import json
import shutil
import subprocess

import pytest
import requests

from harness import artistry_bin, start_service
from detect_helpers import (BEDROOMS, MODELS, PHOTO_SIZES, jpeg_size, photo, png_header_only,
                            start_detect, stop_checked)

YOLOV8N = str(MODELS / "yolov8n.onnx")
TIMEOUT = 120


@pytest.fixture(scope="module")
def detect():
    s = start_detect({"MODEL_PATH": YOLOV8N})
    yield s
    stop_checked(s)


@pytest.fixture(scope="module")
def detect_all():
    """The interior filter off: every COCO class comes back under its own name."""
    s = start_detect({"MODEL_PATH": YOLOV8N, "DETECT_INTERIOR_FILTER": "false"})
    yield s
    stop_checked(s)


def post_json(svc, body):
    return requests.post(svc.url("/detect"), json=body, timeout=TIMEOUT)


def post_file(svc, data, name="photo.jpg"):
    return requests.post(svc.url("/detect/"), files={"file": (name, data)}, timeout=TIMEOUT)


def b64(data):
    return base64.b64encode(data).decode()


def test_health_says_what_runs(detect):
    for path in ("/", "/health"):
        r = requests.get(detect.url(path), timeout=5)
        assert r.status_code == 200
        h = r.json()
        assert list(h)[:3] == ["status", "service", "device"]
        assert h["status"] == "ok"
        assert h["service"] == "Detect (YOLOv8)"
        assert h["device"] == "cpu"
        assert h["model"] == "yolov8n.onnx"
        assert h["loaded"] is True
        assert h["input_size"] == [640, 640]
        assert h["precision"] == "fp32"
        assert h["error"] is None
        assert h["interior_filter"] is True
    assert requests.get(detect.url("/docs"), timeout=5).status_code == 200


@pytest.mark.parametrize("name", BEDROOMS)
def test_json_finds_the_bed(detect, name):
    r = post_json(detect, {"image_b64": b64(photo(name))})
    assert r.status_code == 200, r.text
    assert list(r.json()) == ["bboxes"]
    boxes = r.json()["bboxes"]
    assert "bed" in [b["label"] for b in boxes]
    w, h = PHOTO_SIZES[name]
    for b in boxes:
        assert list(b) == ["label", "x1", "y1", "x2", "y2", "score"]
        assert all(type(b[k]) is int for k in ("x1", "y1", "x2", "y2"))
        assert type(b["score"]) is float and 0.1 < b["score"] <= 1
        assert 0 <= b["x1"] <= b["x2"] <= w and 0 <= b["y1"] <= b["y2"] <= h
    scores = [b["score"] for b in boxes]
    assert scores == sorted(scores, reverse=True)


def test_multipart_parallel_arrays_and_annotated_jpeg(detect):
    name = "bedroom-wardrobe.webp"
    r = post_file(detect, photo(name), name)
    assert r.status_code == 200, r.text
    d = r.json()
    assert list(d) == ["objects", "annotated_image", "bounding_boxes", "confidence"]
    n = len(d["objects"])
    assert n == len(d["bounding_boxes"]) == len(d["confidence"]) and n > 0
    assert "bed" in d["objects"]
    for box in d["bounding_boxes"]:
        assert list(box) == ["x1", "y1", "x2", "y2"]
        assert all(type(v) is int for v in box.values())
    assert all(type(c) is float for c in d["confidence"])
    prefix = "data:image/jpeg;base64,"
    assert d["annotated_image"].startswith(prefix)
    jpeg = base64.b64decode(d["annotated_image"][len(prefix):], validate=True)
    assert jpeg_size(jpeg) == PHOTO_SIZES[name]
    # the same detections as the JSON route at the multipart route's fixed thresholds
    j = post_json(detect, {"image_b64": b64(photo(name)), "conf_threshold": 0.1,
                           "iou_threshold": 0.3}).json()["bboxes"]
    assert [b["label"] for b in j] == d["objects"]
    assert [[b[k] for k in ("x1", "y1", "x2", "y2")] for b in j] == \
        [list(b.values()) for b in d["bounding_boxes"]]
    assert [b["score"] for b in j] == d["confidence"]


def test_interior_filter_renames_and_drops(detect, detect_all):
    img = {"image_b64": b64(photo("bedroom-render.png"))}
    every = [b["label"] for b in post_json(detect_all, img).json()["bboxes"]]
    shown = [b["label"] for b in post_json(detect, img).json()["bboxes"]]
    assert "potted plant" in every and "potted plant" not in shown and "plant" in shown
    street = {"image_b64": b64(photo("dog-bicycle-truck.jpg"))}
    every = {b["label"] for b in post_json(detect_all, street).json()["bboxes"]}
    shown = {b["label"] for b in post_json(detect, street).json()["bboxes"]}
    assert {"dog", "bicycle", "truck"} <= every
    assert not shown & {"dog", "bicycle", "truck", "car"}


def test_thresholds_are_honoured(detect_all):
    img = b64(photo("dog-bicycle-truck.jpg"))
    low = post_json(detect_all, {"image_b64": img, "conf_threshold": 0.1}).json()["bboxes"]
    high = post_json(detect_all, {"image_b64": img, "conf_threshold": 0.5}).json()["bboxes"]
    assert all(b["score"] > 0.5 for b in high)
    assert len(high) < len(low)
    assert {"dog", "bicycle"} <= {b["label"] for b in high}
    # iou 1.0 suppresses nothing: at least as many boxes as at 0.3
    loose = post_json(detect_all, {"image_b64": img, "iou_threshold": 1.0}).json()["bboxes"]
    assert len(loose) >= len(low)
    # numeric strings are floats to pydantic
    r = post_json(detect_all, {"image_b64": img, "conf_threshold": "0.5"})
    assert r.status_code == 200 and r.json()["bboxes"] == high


TRUNCATED = photo("dog-bicycle-truck.jpg")[:60000]


@pytest.mark.parametrize("data,status,words", [
    (b"this is not an image at all", 415, "not an image"),
    (TRUNCATED, 422, "truncated"),
    (png_header_only(0, 0), 422, ""),
    (png_header_only(20000, 20000), 413, "too large"),
])
def test_bad_images_are_4xx(detect, data, status, words):
    for r in (post_json(detect, {"image_b64": b64(data)}), post_file(detect, data)):
        assert r.status_code == status, r.text
        detail = r.json()["detail"]
        assert isinstance(detail, str) and words in detail


@pytest.mark.parametrize("value,words", [
    ("abc$def", "base64"),
    ("data:image/jpeg;base64," + b64(photo("person-dog-horse.jpg")), "data:"),
    ("", "empty"),
    ("QUJD=", "base64"),
])
def test_bad_base64_is_400(detect, value, words):
    r = post_json(detect, {"image_b64": value})
    assert r.status_code == 400, r.text
    assert words in r.json()["detail"]


@pytest.mark.parametrize("field,value,kind", [
    ("conf_threshold", -0.1, "greater_than_equal"),
    ("iou_threshold", -1, "greater_than_equal"),
    ("conf_threshold", "NaN", "finite_number"),
    ("iou_threshold", "nan", "finite_number"),
    ("conf_threshold", 1.5, "less_than_equal"),
    ("conf_threshold", "high", "float_parsing"),
    ("conf_threshold", [0.1], "float_type"),
])
def test_bad_thresholds_are_422(detect, field, value, kind):
    r = post_json(detect, {"image_b64": b64(photo("person-dog-horse.jpg")), field: value})
    assert r.status_code == 422, r.text
    err = r.json()["detail"][0]
    assert err["type"] == kind and err["loc"] == ["body", field]


def test_missing_fields_and_wrong_bodies_are_422(detect):
    r = post_json(detect, {"conf_threshold": 0.2})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "image_b64"]
    r = post_json(detect, {"image_b64": 12})
    assert r.status_code == 422 and r.json()["detail"][0]["type"] == "string_type"
    r = requests.post(detect.url("/detect/"), json={"image_b64": "x"}, timeout=TIMEOUT)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "file"]
    r = requests.post(detect.url("/detect/"), files={"other": ("a.jpg", b"x")}, timeout=TIMEOUT)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "file"]
    r = requests.post(detect.url("/detect"), files={"file": ("a.jpg", b"x")}, timeout=TIMEOUT)
    assert r.status_code == 422
    r = post_file(detect, b"")
    assert r.status_code == 400 and "empty" in r.json()["detail"]


def test_second_request_for_a_photo_hits_the_cache(detect):
    data = photo("bedroom-chevron-curtains.jpg")
    before = requests.get(detect.url("/health"), timeout=5).json()["cache"]
    first = post_file(detect, data)
    second = post_file(detect, data)
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json()
    assert "cache;desc=hit" in second.headers["Server-Timing"]
    after = requests.get(detect.url("/health"), timeout=5).json()["cache"]
    assert after["hits"] >= before["hits"] + 1
    assert after["entries"] >= 1
    metrics = requests.get(detect.url("/metrics"), timeout=5).text
    hits = [l for l in metrics.splitlines() if l.startswith("detect_photo_cache_hits_total ")]
    assert hits and int(hits[0].split()[1]) >= after["hits"]


def test_fifty_requests_at_once_are_all_answered(detect):
    data = photo("person-dog-horse.jpg")

    def one(i):
        if i % 2:
            return post_file(detect, data)
        return post_json(detect, {"image_b64": b64(data), "conf_threshold": 0.1 + i / 1000})

    with concurrent.futures.ThreadPoolExecutor(50) as pool:
        answers = list(pool.map(one, range(50)))
    # the default queue (64 waiting, 256 MB of uploads) takes a burst of 50 photos
    codes = [r.status_code for r in answers]
    assert codes == [200] * 50, codes
    for i, r in enumerate(answers):
        if i % 2:
            assert list(r.json()) == ["objects", "annotated_image", "bounding_boxes", "confidence"]
            assert r.json()["annotated_image"].startswith("data:image/jpeg;base64,")
        else:
            assert list(r.json()) == ["bboxes"]
    assert requests.get(detect.url("/health"), timeout=5).json()["loaded"] is True


def test_missing_model_answers_503_until_it_is_pulled(tmp_path):
    models = tmp_path / "models"
    svc = start_detect({"ARTISTRY_MODELS": str(models)})
    try:
        h = requests.get(svc.url("/health"), timeout=5).json()
        assert h["status"] == "degraded" and h["loaded"] is False
        assert "yolov8n.onnx" in h["error"] and "artistry models pull yolov8n" in h["error"]
        assert "MODEL_PATH" in h["error"]
        r = post_json(svc, {"image_b64": b64(photo("person-dog-horse.jpg"))})
        assert r.status_code == 503
        assert r.json()["detail"] == h["error"]
        r = post_file(svc, photo("person-dog-horse.jpg"))
        assert r.status_code == 503
        # bad input is still answered as such
        assert post_json(svc, {}).status_code == 422
        p = subprocess.run([artistry_bin(), "models", "pull", "yolov8n", "--from", YOLOV8N],
                           env={"ARTISTRY_MODELS": str(models), "PATH": "/usr/bin:/bin"},
                           capture_output=True, text=True, timeout=60)
        assert p.returncode == 0, p.stderr
        r = post_json(svc, {"image_b64": b64(photo("person-dog-horse.jpg"))})
        assert r.status_code == 200, r.text
        h = requests.get(svc.url("/health"), timeout=5).json()
        assert h["status"] == "ok" and h["loaded"] is True and h["error"] is None
    finally:
        stop_checked(svc)


def test_a_missing_model_path_of_ones_own_says_so(tmp_path):
    svc = start_detect({"MODEL_PATH": str(tmp_path / "elsewhere" / "yolov8n.onnx"),
                        "ARTISTRY_MODELS": str(tmp_path / "models")})
    try:
        h = requests.get(svc.url("/health"), timeout=5).json()
        assert "set MODEL_PATH to where the file is" in h["error"]
        assert str(tmp_path / "models" / "yolov8n.onnx") in h["error"]
    finally:
        stop_checked(svc)


def test_a_file_that_is_not_a_detector_answers_503(tmp_path):
    bad = tmp_path / "yolov8n.onnx"
    bad.write_bytes(b"\x08\x07" + b"junk" * 100)
    svc = start_detect({"MODEL_PATH": str(bad)})
    try:
        h = requests.get(svc.url("/health"), timeout=5).json()
        assert h["loaded"] is False and "cannot be used" in h["error"]
        r = post_file(svc, photo("person-dog-horse.jpg"))
        assert r.status_code == 503 and "cannot be used" in r.json()["detail"]
        # replaced by a detector, the next request loads it
        shutil.copy(YOLOV8N, bad)
        assert post_file(svc, photo("person-dog-horse.jpg")).status_code == 200
    finally:
        stop_checked(svc)


def test_preload_runs_in_the_background_and_requests_wait_for_it():
    svc = start_service("detect", {"MODEL_PATH": YOLOV8N})
    try:
        # the port is open before the model is ready; a request meanwhile waits for it
        r = post_json(svc, {"image_b64": b64(photo("person-dog-horse.jpg"))})
        assert r.status_code == 200, r.text
        h = requests.get(svc.url("/health"), timeout=5).json()
        assert h["loaded"] is True and h["loading"] is False
    finally:
        stop_checked(svc)


def test_lazy_loading_and_no_cache():
    svc = start_service("detect", {"MODEL_PATH": YOLOV8N, "DETECT_PRELOAD": "false",
                                   "DETECT_CACHE_SIZE": "0"})
    try:
        h = requests.get(svc.url("/health"), timeout=5).json()
        assert h["loaded"] is False and h["error"] is None and h["status"] == "ok"
        assert h["loading"] is False
        assert h["cache"] is None
        data = photo("person-dog-horse.jpg")
        assert post_file(svc, data).status_code == 200
        r = post_file(svc, data)
        assert r.status_code == 200 and "cache" not in r.headers["Server-Timing"]
        assert requests.get(svc.url("/health"), timeout=5).json()["loaded"] is True
    finally:
        stop_checked(svc)


def test_bad_configuration_refuses_to_start():
    for env in ({"CONF_THRESHOLD": "2"}, {"DEVICE": "tpu"}, {"DETECT_PRECISION": "int4"},
                {"DETECT_CACHE_SIZE": "many"}):
        p = subprocess.run([artistry_bin(), "serve", "detect", "--port", "1"],
                           env={**env, "ARTISTRY_CONFIG_DIR": "/nonexistent", "MODEL_PATH": YOLOV8N},
                           capture_output=True, text=True, timeout=30)
        assert p.returncode == 1
        assert list(env)[0] in p.stderr
