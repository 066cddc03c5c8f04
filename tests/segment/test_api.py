"""The segment service's contract where no model has to run (CONTRACT.md §2, §6): status
routes, validation, bad photos, the model missing or arriving late. Requests that reach the
models are in test_acceptance.py (the slow suite)."""
import base64
import io
import os
import struct
import zlib

import pytest
import requests
from PIL import Image

from conftest import model_env, photo_b64, photo_bytes, png_bytes, stop_clean
from harness import start_service
from segment_ref import DECODER, ENCODER

BED = {"x1": 509, "y1": 748, "x2": 1391, "y2": 1114}  # bedroom-wardrobe.webp


def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_declaring(w, h, idat=b""):
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", idat)
            + png_chunk(b"IEND", b""))


def b64(data):
    return base64.b64encode(data).decode()


def detail(r):
    return r.json()["detail"]


def errors_at(r, loc):
    assert r.status_code == 422, r.text
    return [e for e in r.json()["detail"] if e["loc"] == loc]


# ---------------------------------------------------------------- status routes

def test_root_is_the_originals_body(segment):
    r = requests.get(segment.url("/"))
    assert r.status_code == 200
    assert r.text == '{"status":"ok","service":"Segment (MobileSAM)","device":"cpu"}'


def test_health_says_model_and_cache(segment):
    h = requests.get(segment.url("/health")).json()
    assert list(h)[:3] == ["status", "service", "device"]
    assert h["status"] == "ok" and h["service"] == "Segment (MobileSAM)" and h["device"] == "cpu"
    assert h["model"] == {"encoder": str(ENCODER), "decoder": str(DECODER), "loaded": True,
                          "error": None}
    assert h["cache"]["capacity"] == 16
    assert {"entries", "hits", "misses", "encoder_runs"} <= set(h["cache"])


def test_framework_routes(segment):
    assert requests.get(segment.url("/docs")).status_code == 200
    r = requests.head(segment.url("/"))
    assert r.status_code == 405 and r.headers["Allow"] == "GET"
    r = requests.get(segment.url("/segment"))
    assert r.status_code == 405
    r = requests.post(segment.url("/segment//"), allow_redirects=False)
    assert r.status_code == 307 and r.headers["Location"].endswith("/segment")
    assert "artistry_segment_model_loaded 1" in requests.get(segment.url("/metrics")).text


# ---------------------------------------------------------------- POST /segment validation

def test_image_b64_is_required(segment):
    r = requests.post(segment.url("/segment"), json={"bboxes": []})
    assert errors_at(r, ["body", "image_b64"])[0]["type"] == "missing"


@pytest.mark.parametrize("body,loc", [
    ({"image_b64": 5}, ["body", "image_b64"]),
    ({"image_b64": "x", "bboxes": {"x1": 1}}, ["body", "bboxes"]),
    ({"image_b64": "x", "bboxes": "none"}, ["body", "bboxes"]),
    ({"image_b64": "x", "enable_edge_refinement": "maybe"}, ["body", "enable_edge_refinement"]),
])
def test_field_types(segment, body, loc):
    assert errors_at(requests.post(segment.url("/segment"), json=body), loc)


@pytest.mark.parametrize("box,words", [
    ({"x1": 1, "y1": 2, "x2": 30}, "no 'y2'"),
    ([1, 2, 3, 4], "must be an object"),
    ({"x1": "1", "y1": 2, "x2": 3, "y2": 4}, "'x1' must be a finite number"),
    ({"x1": True, "y1": 2, "x2": 3, "y2": 4}, "'x1' must be a finite number"),
    ({"x1": None, "y1": 2, "x2": 3, "y2": 4}, "'x1' must be a finite number"),
    ({"x1": 50, "y1": 2, "x2": 10, "y2": 4}, "corners reversed"),
    ({"x1": 5, "y1": 40, "x2": 10, "y2": 4}, "corners reversed"),
])
def test_bad_boxes_are_422_naming_the_box(segment, box, words):
    body = {"image_b64": photo_b64("bedroom-wardrobe.webp"), "bboxes": [BED, box]}
    errs = errors_at(requests.post(segment.url("/segment"), json=body), ["body", "bboxes"])
    assert len(errs) >= 1 and "bbox 1" in errs[0]["msg"] and words in errs[0]["msg"], errs
    assert errs[0]["input"] == box


def test_nan_and_infinite_coordinates_are_422(segment):
    for literal in ("NaN", "Infinity", "-Infinity", "1e999"):
        text = ('{"image_b64":"%s","bboxes":[{"x1":%s,"y1":0,"x2":10,"y2":10}]}'
                % (photo_b64("person-dog-horse.jpg"), literal))
        r = requests.post(segment.url("/segment"), data=text,
                          headers={"Content-Type": "application/json"})
        assert r.status_code == 422, (literal, r.text)


def test_too_many_boxes(segment):
    body = {"image_b64": "x", "bboxes": [BED] * 101}
    errs = errors_at(requests.post(segment.url("/segment"), json=body), ["body", "bboxes"])
    assert "at most 100 boxes" in errs[0]["msg"]


@pytest.mark.parametrize("box", [
    {"x1": 1600, "y1": 0, "x2": 1700, "y2": 10},
    {"x1": -50, "y1": -50, "x2": -1, "y2": 100},
    {"x1": 0, "y1": 1200, "x2": 10, "y2": 1300},
])
def test_a_box_outside_the_photo_is_422(segment, box):
    body = {"image_b64": photo_b64("bedroom-wardrobe.webp"), "bboxes": [box]}
    errs = errors_at(requests.post(segment.url("/segment"), json=body), ["body", "bboxes"])
    assert "outside the 1500×1125 photo" in errs[0]["msg"], errs


def test_no_boxes_is_an_empty_list(segment):
    for bboxes in ([], None):
        body = {"image_b64": photo_b64("person-dog-horse.jpg"), "bboxes": bboxes}
        r = requests.post(segment.url("/segment"), json=body)
        assert r.status_code == 200 and r.text == '{"masks":[]}'
    r = requests.post(segment.url("/segment"), json={"image_b64": photo_b64("person-dog-horse.jpg")})
    assert r.text == '{"masks":[]}'


# ---------------------------------------------------------------- bad photos, both routes

TRUNCATED = photo_bytes("dog-bicycle-truck.jpg")[:20000]
BAD_PHOTOS = [
    (b"this is not an image at all", 415, "not an image"),
    (TRUNCATED, 422, "truncated"),
    (png_declaring(0, 0), 422, "0×0"),
    (png_declaring(20000, 20000), 413, "exceeds"),
    (b"", 400, "empty"),
]


@pytest.mark.parametrize("data,status,words", BAD_PHOTOS)
def test_bad_photo_json(segment, data, status, words):
    for bboxes in ([BED], []):
        r = requests.post(segment.url("/segment"), json={"image_b64": b64(data), "bboxes": bboxes})
        assert r.status_code == status, r.text
        assert words in detail(r)


@pytest.mark.parametrize("data,status,words", BAD_PHOTOS)
def test_bad_photo_multipart(segment, data, status, words):
    r = requests.post(segment.url("/segment/"), files={"file": ("x.jpg", data, "image/jpeg")})
    assert r.status_code == status, r.text
    assert words in detail(r)


def test_data_url_where_raw_base64_is_expected(segment):
    body = {"image_b64": "data:image/webp;base64," + photo_b64("bedroom-wardrobe.webp"),
            "bboxes": [BED]}
    errs = errors_at(requests.post(segment.url("/segment"), json=body), ["body", "image_b64"])
    assert "without a 'data:...;base64,' prefix" in errs[0]["msg"]


@pytest.mark.parametrize("text", ["not base64!", "QUJD-_", "QUJDRA=x", "%%%%"])
def test_wrong_base64(segment, text):
    errs = errors_at(requests.post(segment.url("/segment"), json={"image_b64": text}),
                     ["body", "image_b64"])
    assert errs[0]["msg"].startswith("image_b64 is not base64")


# ---------------------------------------------------------------- POST /segment/ validation

def test_file_is_required(segment):
    r = requests.post(segment.url("/segment/"), files={"other": ("a.png", png_bytes(8, 8))})
    assert errors_at(r, ["body", "file"])[0]["type"] == "missing"


@pytest.mark.parametrize("query,form,loc", [
    ("?num_samples=-1", None, ["query", "num_samples"]),
    ("?num_samples=101", None, ["query", "num_samples"]),
    ("?num_samples=ten", None, ["query", "num_samples"]),
    ("?num_samples=2.5", None, ["query", "num_samples"]),
    ("", "-4", ["body", "num_samples"]),
    ("", "many", ["body", "num_samples"]),
    ("?masks=png", None, ["query", "masks"]),
])
def test_grid_parameters(segment, query, form, loc):
    data = {"num_samples": form} if form is not None else None
    r = requests.post(segment.url("/segment/" + query), data=data,
                      files={"file": ("a.png", png_bytes(8, 8), "image/png")})
    assert errors_at(r, loc), r.text


def test_zero_samples_answers_the_photo_itself(segment):
    """num_samples=0 is a grid of 0 points: no model run, the photo back as the PNG."""
    data = photo_bytes("person-dog-horse.jpg")
    r = requests.post(segment.url("/segment/?num_samples=0"),
                      files={"file": ("p.jpg", data, "image/jpeg")})
    assert r.status_code == 200, r.text
    body = r.json()
    assert list(body) == ["segmented_image", "num_segments", "masks", "edge_refinement"]
    assert body["num_segments"] == 0 and body["masks"] == [] and body["edge_refinement"] is True
    prefix = "data:image/png;base64,"
    assert body["segmented_image"].startswith(prefix)
    png = Image.open(io.BytesIO(base64.b64decode(body["segmented_image"][len(prefix):])))
    assert png.format == "PNG" and png.size == (640, 424)
    assert png.convert("RGB").tobytes() == Image.open(io.BytesIO(data)).convert("RGB").tobytes()


# ---------------------------------------------------------------- the photo cache

def noise_png(seed, w=64, h=48):
    pixels = bytes((seed * 7919 + i * 104729) % 251 for i in range(w * h * 3))
    out = io.BytesIO()
    Image.frombytes("RGB", (w, h), pixels).save(out, "PNG")
    return out.getvalue()


def test_photos_are_decoded_once_per_upload(segment):
    """The same bytes, as base64 or as a file, are decoded once while in the cache; the
    answer does not change when they come from it."""
    data = noise_png(1)
    before = requests.get(segment.url("/health")).json()["photos"]
    for _ in range(3):
        r = requests.post(segment.url("/segment"), json={"image_b64": b64(data), "bboxes": []})
        assert r.json() == {"masks": []}
    first = None
    for _ in range(2):
        r = requests.post(segment.url("/segment/?num_samples=0"),
                          files={"file": ("n.png", data, "image/png")})
        assert r.status_code == 200, r.text
        assert first is None or r.content == first
        first = r.content
    after = requests.get(segment.url("/health")).json()["photos"]
    assert after["misses"] == before["misses"] + 1
    assert after["hits"] == before["hits"] + 4
    assert 1 <= after["entries"] <= 4
    # a byte more is another upload
    requests.post(segment.url("/segment"), json={"image_b64": b64(data + b"\0"), "bboxes": []})
    assert requests.get(segment.url("/health")).json()["photos"]["misses"] == after["misses"] + 1


def test_photo_cache_can_be_turned_off():
    s = start_service("segment", model_env(SEGMENT_PHOTO_CACHE="0"))
    try:
        assert requests.get(s.url("/health")).json()["photos"] is None
        r = requests.post(s.url("/segment"), json={"image_b64": b64(noise_png(2)), "bboxes": []})
        assert r.json() == {"masks": []}
    finally:
        stop_clean(s)


# ---------------------------------------------------------------- the model missing

@pytest.fixture(scope="module")
def models_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="module")
def no_model(models_dir):
    s = start_service("segment", {"ARTISTRY_MODELS": str(models_dir), "SAM_ENCODER_PATH": "",
                                  "SAM_DECODER_PATH": ""})
    yield s
    stop_clean(s)


def test_missing_model_starts_and_says_so(no_model, models_dir):
    h = requests.get(no_model.url("/health")).json()
    assert h["status"] == "ok"
    assert h["model"]["loaded"] is False
    assert h["model"]["encoder"] == f"{models_dir}/mobilesam-encoder.onnx"
    assert h["model"]["decoder"] == f"{models_dir}/mobilesam-decoder.onnx"
    assert "mobilesam-encoder.onnx" in h["model"]["error"]
    assert "artistry models pull" in h["model"]["error"]


def test_missing_model_is_503_naming_the_file(no_model, models_dir):
    r = requests.post(no_model.url("/segment"),
                      json={"image_b64": photo_b64("person-dog-horse.jpg"), "bboxes": [BED]})
    assert r.status_code == 503 and r.headers.get("Retry-After")
    assert f"{models_dir}/mobilesam-encoder.onnx" in detail(r)
    assert "artistry models pull" in detail(r) and "SAM_ENCODER_PATH" in detail(r)
    r = requests.post(no_model.url("/segment/"),
                      files={"file": ("p.jpg", photo_bytes("person-dog-horse.jpg"))})
    assert r.status_code == 503 and "mobilesam-encoder.onnx" in detail(r)


def test_missing_model_still_answers_what_needs_none(no_model):
    r = requests.post(no_model.url("/segment"), json={"image_b64": photo_b64("person-dog-horse.jpg")})
    assert r.status_code == 200 and r.json() == {"masks": []}
    r = requests.post(no_model.url("/segment/?num_samples=0"),
                      files={"file": ("p.jpg", photo_bytes("person-dog-horse.jpg"))})
    assert r.status_code == 200 and r.json()["num_segments"] == 0


def test_model_pulled_while_running_is_picked_up(no_model, models_dir):
    """After the files appear (as `artistry models pull` puts them), the next request loads
    them; no restart."""
    test_missing_model_is_503_naming_the_file(no_model, models_dir)
    os.symlink(ENCODER, models_dir / "mobilesam-encoder.onnx")
    os.symlink(DECODER, models_dir / "mobilesam-decoder.onnx")
    body = {"image_b64": photo_b64("bedroom-wardrobe.webp"),
            "bboxes": [{"x1": 2000, "y1": 0, "x2": 2100, "y2": 5}]}
    r = requests.post(no_model.url("/segment"), json=body)
    assert r.status_code == 422, r.text  # the model loaded; the box is what is wrong
    h = requests.get(no_model.url("/health")).json()
    assert h["model"]["loaded"] is True and h["model"]["error"] is None


def test_a_wrong_model_file_is_reported():
    s = start_service("segment", model_env(SAM_DECODER_PATH=str(ENCODER)))
    try:
        h = requests.get(s.url("/health")).json()
        assert h["model"]["loaded"] is False
        assert "no input 'image_embeddings'" in h["model"]["error"]
    finally:
        stop_clean(s)


def test_bad_configuration_refuses_to_start():
    with pytest.raises(RuntimeError, match="SEGMENT_CACHE_ENTRIES"):
        start_service("segment", model_env(SEGMENT_CACHE_ENTRIES="lots"))
