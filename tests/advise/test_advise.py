"""The advise service over HTTP (CONTRACT §7): the goldens, the /mvp test script's
figures, bad input, and photo analysis on the shared photos."""
import io
import json
import os
import struct
import sys
import zlib

import pytest
import requests

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import goldens  # noqa: E402
from harness import start_service  # noqa: E402

PHOTOS = os.path.join(goldens.SHARED, "data", "photos")


@pytest.fixture(scope="module")
def advise():
    s = start_service("advise", {"ARTISTRY_KB_DIR": os.path.join(goldens.ROOT, "data")})
    yield s
    assert s.stop() == 0, s.logs()


def call(svc, rec):
    url = svc.url(rec["path"])
    if rec["path"] == "/vision/analyze":
        return requests.post(url, params=rec.get("query"))
    return requests.post(url, json=rec["request"])


def test_every_advise_golden(advise):
    records = [r for r in goldens.load() if r["service"] == "advise"]
    assert len(records) == 161
    assert goldens.apply_deviations(records) == 9
    failures = []
    for r in records:
        resp = call(advise, r)
        if resp.status_code != r["status"]:
            failures.append((r["path"], r["request"], resp.status_code, resp.text[:200]))
            continue
        m = goldens.mismatch(r["path"], r["response"], resp.json())
        if m:
            failures.append((r["path"], r["request"], m))
    print(f"advise goldens over HTTP: {len(records) - len(failures)}/{len(records)} match")
    assert not failures, failures[:5]


def test_mvp_endpoints_t1_t2(advise):
    """test-mvp-endpoints.ps1 T1 and T2 read these fields; they print the original's figures."""
    r = requests.post(advise.url("/estimate/total-cost"),
                      json={"detected_objects": ["bed", "curtains", "walls"], "budget": "medium",
                            "room_size_sqft": 150})
    assert r.status_code == 200
    j = r.json()
    print("T1", j["total_cost_inr"], j["breakdown"]["materials_total_inr"],
          j["breakdown"]["labor_total_inr"], j["diy_vs_professional"]["savings_diy_inr"])
    assert (j["total_cost_inr"], j["breakdown"]["materials_total_inr"],
            j["breakdown"]["labor_total_inr"], j["diy_vs_professional"]["savings_diy_inr"]) == \
        (32500, 26000, 6500, 6500)
    r = requests.post(advise.url("/diy/instructions"),
                      json={"item": "curtains", "budget": "medium", "skill_level": "beginner"})
    assert r.status_code == 200
    j = r.json()
    print("T2", j["item"], j["difficulty"], j["estimated_time_hours"], len(j["steps"]),
          j["total_cost_diy_inr"])
    assert (j["item"], j["difficulty"], j["estimated_time_hours"], len(j["steps"]),
            j["total_cost_diy_inr"]) == ("curtains", "beginner", 2, 6, 2000)


def test_diy_always_has_the_lists_the_mvp_page_reads(advise):
    for item in ["sofa", "television", "person", "rug", "chair", "unknown thing", ""]:
        j = requests.post(advise.url("/diy/instructions"), json={"item": item, "budget": "low"}).json()
        for k in ("steps", "tools_needed", "materials_checklist"):
            assert isinstance(j[k], list), (item, k)


def test_every_detect_class_is_priced(advise):
    """No detected item falls to the generic line except a person (see the report)."""
    classes = ["bench", "backpack", "umbrella", "handbag", "tie", "suitcase", "frisbee", "skis",
               "snowboard", "sports ball", "kite", "baseball bat", "baseball glove", "skateboard",
               "surfboard", "tennis racket", "bottle", "wine glass", "cup", "fork", "knife",
               "spoon", "bowl", "chair", "sofa", "plant", "bed", "table", "television", "laptop",
               "mouse", "remote control", "keyboard", "phone", "microwave", "oven", "toaster",
               "sink", "refrigerator", "book", "clock", "vase", "scissors", "teddy bear",
               "hair drier", "toothbrush", "blanket", "blinds", "cabinet", "ceiling",
               "chandelier", "desk", "dishwasher", "door", "dresser", "floor", "frame", "lamp",
               "light", "monitor", "pen", "pencil", "picture", "pillow", "shelf", "towel", "wall",
               "window"]
    for tier in ("low", "medium", "high"):
        j = requests.post(advise.url("/estimate/total-cost"),
                          json={"detected_objects": classes, "budget": tier}).json()
        generic = [p["item"] for p in j["per_item_costs"] if p["where_to_buy"] == ["Amazon", "Flipkart"]
                   and p["material_cost_inr"] == 5000 and p["labor_cost_inr"] == 1000]
        assert generic == [], generic
        spec = requests.post(advise.url("/advise/refine-budget"),
                             json={"base_design": {}, "budget": tier, "item_selection": classes}).json()
        missing = [s["item"] for s in spec["detailed_specs"] if s["estimated_cost"] == "Estimate not available"]
        assert missing == [], missing


BAD = [
    ("/estimate/total-cost", {"detected_objects": "bed", "budget": "low"}, 422),
    ("/estimate/total-cost", {"detected_objects": ["bed"]}, 422),
    ("/estimate/total-cost", {"detected_objects": [1, 2], "budget": "low"}, 422),
    ("/estimate/total-cost", {"detected_objects": ["bed"], "budget": "low", "room_size_sqft": 150.7}, 422),
    ("/estimate/total-cost", {"detected_objects": ["bed"], "budget": 3}, 422),
    ("/diy/instructions", {"item": None, "budget": "low"}, 422),
    ("/proposal/initial", {"detection_data": []}, 422),
    ("/proposal/refine", {"base_design": {"lighting": "bright"}, "user_feedback": "x"}, 422),
    ("/prompt/generate", [1, 2], 422),
    ("/advise/refine-budget", {"base_design": {}, "budget": "low"}, 422),
    ("/advise/reason-upgrades", {"item_conditions": [], "user_selection": [], "budget": "x"}, 422),
    ("/condition/detect", {"image_b64": "not base64!!", "objects_detected": ["bed"]}, 422),
    ("/advise/structured", {"room_type": "bedroom"}, 422),
    ("/advise", {"masks": []}, 422),
]


@pytest.mark.parametrize("path,body,status", BAD)
def test_bad_json_is_a_clear_4xx(advise, path, body, status):
    r = requests.post(advise.url(path), json=body)
    assert r.status_code == status, r.text
    detail = r.json()["detail"]
    assert detail and (isinstance(detail, str) or detail[0]["msg"])


def test_malformed_and_non_json_bodies(advise):
    for path in ("/estimate/total-cost", "/diy/instructions", "/proposal/refine"):
        r = requests.post(advise.url(path), data=b"{not json", headers={"Content-Type": "application/json"})
        assert r.status_code == 422
        r = requests.post(advise.url(path), data=b"budget=low", headers={"Content-Type": "text/plain"})
        assert r.status_code == 422


def test_unknown_budgets_items_and_huge_lists_answer(advise):
    r = requests.post(advise.url("/estimate/total-cost"), json={"detected_objects": ["spaceship"], "budget": "galactic"})
    assert r.status_code == 200 and r.json()["per_item_costs"][0]["material_cost_inr"] == 5000
    big = ["bed", "sofa", "lamp", "person"] * 2500
    r = requests.post(advise.url("/estimate/total-cost"), json={"detected_objects": big, "budget": "high"})
    assert r.status_code == 200
    j = r.json()
    assert j["items_count"] == 10000 and len(j["per_item_costs"]) == 10000
    assert j["total_cost_inr"] == 2500 * (60000 + 103000 + 14500 + 6000)
    r = requests.post(advise.url("/advise/reason-upgrades"),
                      json={"item_conditions": {f"i{k}": "old" for k in range(10000)},
                            "user_selection": [f"i{k}" for k in range(0, 10000, 2)], "budget": "LOW"})
    assert r.status_code == 200 and len(r.json()["replace"]) == 5000
    r = requests.post(advise.url("/estimate/total-cost"), json={"detected_objects": [], "budget": ""})
    assert r.status_code == 200 and r.json()["total_cost_inr"] == 0


def test_reason_upgrades_order_is_deterministic(advise):
    body = {"item_conditions": {"bed": "old", "chair": "new", "lamp": "old"},
            "user_selection": ["rug", "bed"], "budget": "Medium"}
    a = requests.post(advise.url("/advise/reason-upgrades"), json=body).json()
    assert [d["item"] for d in a["detailed_decisions"]] == ["bed", "chair", "lamp", "rug"]
    assert a["replace"] == ["bed", "rug"]


def test_condition_detect_says_no_model(advise):
    j = requests.post(advise.url("/condition/detect"),
                      json={"image_b64": "aGVsbG8=", "objects_detected": ["bed", "sofa"]}).json()
    assert j["condition_estimates"] == {"bed": "acceptable", "sofa": "acceptable"}
    for d in j["detailed_conditions"]:
        assert d["confidence"] == 0.5 and "no condition model" in d["reasoning"].lower()


def test_structured_has_rules_and_prompt_for_generation(advise):
    j = requests.post(advise.url("/advise/structured"),
                      json={"room_type": "bedroom", "objects_detected": ["bed", "wardrobe"],
                            "lighting": "dim", "room_size": "small", "style_intent": "Cozy"}).json()
    assert j["source"] == "rules"
    assert j["structured_prompt_for_generation"] == j["designer_prompt"]
    cats = [r["category"] for r in j["recommendations"]]
    assert "Bed" in cats and "Lighting" in cats
    for r in j["recommendations"]:
        assert set(r) == {"category", "suggestion", "reason", "icon"} and "{" not in r["suggestion"]


def png(w, h, rgb):
    raw = b"".join(b"\x00" + bytes(rgb) * w for _ in range(h))
    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def test_non_image_uploads_are_refused(advise):
    for path in ("/advise/", "/vision/analyze"):
        r = requests.post(advise.url(path), files={"file": ("x.txt", b"hello, not an image", "text/plain")})
        assert r.status_code == 415, r.text
    r = requests.post(advise.url("/advise/"), data={"prompt": "x"})
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "file"]


def test_advise_upload_answers_with_the_original_keys(advise):
    r = requests.post(advise.url("/advise/"), params={"objects_detected": "bed, chair"},
                      files={"file": ("b.png", png(16, 16, (200, 190, 170)), "image/png")},
                      data={"prompt": "Scandinavian"})
    assert r.status_code == 200
    j = r.json()
    assert list(j)[:5] == ["advice", "prompt", "structured_prompt", "response", "metadata"]
    assert j["prompt"] == "Scandinavian" and j["advice"] == j["response"]
    assert j["metadata"]["objects_detected"] == ["bed", "chair"]
    assert "Maintain bed, chair in their current positions" in j["structured_prompt"]
    assert j["source"] == "rules" and j["advice"].count("\n") >= 3


@pytest.mark.parametrize("name,expect", [("bedroom-render.png", {"artificial", "mixed"}),
                                         ("bedroom-chevron-curtains.jpg", {"natural"})])
def test_photo_lighting(advise, name, expect):
    with open(os.path.join(PHOTOS, name), "rb") as f:
        r = requests.post(advise.url("/vision/analyze"), files={"file": (name, f.read())})
    j = r.json()
    assert j["lighting"] in expect, j["analysis"]["lighting"]
    if name == "bedroom-render.png":
        names = {c["name"] for c in j["analysis"]["palette"]["colors"]}
        assert "beige" in names and any("brown" in n for n in names) and any("green" in n for n in names), names


def test_black_photo_is_dim(advise):
    r = requests.post(advise.url("/vision/analyze"), files={"file": ("b.png", png(64, 48, (0, 0, 0)), "image/png")})
    assert r.json()["lighting"] == "dim"


def test_query_text_that_is_not_utf8_still_gives_every_key(advise):
    r = requests.post(advise.url("/advise/") + "?prompt=%ff%fe&objects_detected=bed,%ff",
                      files={"file": ("b.png", png(4, 4, (9, 9, 9)), "image/png")})
    assert r.status_code == 200
    j = r.json()
    assert list(j)[:5] == ["advice", "prompt", "structured_prompt", "response", "metadata"]
    assert j["prompt"] == "\ufffd\ufffd" and j["metadata"]["objects_detected"] == ["bed", "\ufffd"]
    r = requests.post(advise.url("/vision/analyze") + "?detection_data=%ff%7B")
    assert r.status_code == 200 and r.json()["room_type"] == "bedroom"
