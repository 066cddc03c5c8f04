"""POST /workflow/enhanced against stub services standing in for detect, segment, advise
and generate (CONTRACT.md §4.5, §10): the gateway calls the documented paths in order,
segments only the items to replace, hands generate PNG masks, and names the failing step."""
import base64
import io
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from PIL import Image

from harness import free_port, start_service

W, H = 40, 30
BOXES = [
    {"label": "bed", "x1": 2, "y1": 3, "x2": 12, "y2": 10, "score": 0.9},
    {"label": "chair", "x1": 20, "y1": 5, "x2": 30, "y2": 20, "score": 0.8},
    {"label": "bed", "x1": 10, "y1": 15, "x2": 18, "y2": 25, "score": 0.7},
]


def photo_b64():
    buf = io.BytesIO()
    Image.new("RGB", (W, H), (200, 180, 150)).save(buf, "PNG")
    return base64.b64encode(buf.getvalue()).decode()


class Stub(BaseHTTPRequestHandler):
    calls = []
    fail = {}

    def log_message(self, *a):
        pass

    def answer(self, status, obj):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        Stub.calls.append((self.path, body))
        if self.path in Stub.fail:
            return self.answer(*Stub.fail[self.path])
        if self.path == "/detect":
            return self.answer(200, {"bboxes": BOXES})
        if self.path == "/condition/detect":
            return self.answer(200, {"condition_estimates": {o: "old" if o == "bed" else "acceptable"
                                                             for o in body["objects_detected"]}})
        if self.path == "/advise/reason-upgrades":
            items = set(body["item_conditions"]) | set(body["user_selection"])
            rep = sorted(i for i in items if i in body["user_selection"])
            return self.answer(200, {"replace": rep, "keep": sorted(items - set(rep)),
                                     "budget": body["budget"]})
        if self.path == "/segment":
            masks = []
            for b in body["bboxes"]:
                m = bytearray(W * H)
                for y in range(b["y1"], b["y2"]):
                    for x in range(b["x1"], b["x2"]):
                        m[y * W + x] = 255
                masks.append({"bbox": b, "mask_b64": base64.b64encode(bytes(m)).decode()})
            return self.answer(200, {"masks": masks})
        if self.path == "/advise/refine-budget":
            return self.answer(200, {"detailed_specs": [
                {"item": i, "material": "oak veneer", "finish": "matte"} for i in body["item_selection"]]})
        if self.path == "/generate/budget-aware":
            return self.answer(200, {"image_b64": "R0VORVJBVEVE", "prompt_used": "p"})
        if self.path == "/advise":
            return self.answer(200, {"advice": "Use warm textiles."})
        if self.path == "/generate/analyze-output":
            return self.answer(200, {"items": [{"item_type": i, "style": "modern", "material": "wood",
                                                "color": "beige", "confidence": 0.75}
                                               for i in body["replaced_items"]],
                                     "overall_style": "Modern Minimalist", "color_palette": ["beige"]})
        self.answer(404, {"detail": "Not Found"})


@pytest.fixture(scope="module")
def gw(tmp_path_factory):
    port = free_port()
    srv = ThreadingHTTPServer(("127.0.0.1", port), Stub)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    up = f"http://127.0.0.1:{port}"
    data = tmp_path_factory.mktemp("wf")
    # the original's settings carried paths; only scheme, host and port are used
    g = start_service("gateway", {"DETECT_URL": up + "/detect/", "SEGMENT_URL": up + "/segment/",
                                  "ADVISE_URL": up, "GENERATE_URL": up + "/generate/",
                                  "ARTISTRY_DATA_DIR": str(data)})
    yield g
    g.stop()
    srv.shutdown()


def session(gw, items):
    r = requests.post(gw.url("/api/collect-preferences"), json={
        "budget_range": "high", "design_tips": "warm oak", "item_replacement": items, "session_id": None})
    assert r.status_code == 200
    return r.json()["session_id"]


def test_full_run(gw):
    sid = session(gw, ["bed"])
    Stub.calls.clear()
    r = requests.post(gw.url("/workflow/enhanced"), json={"image_b64": photo_b64(), "session_id": sid})
    assert r.status_code == 200, r.text
    body = r.json()
    assert list(body) == ["generated_image", "objects_detected", "condition_analysis", "items_replaced",
                          "items_kept", "budget_applied", "materials_used", "shopping_metadata",
                          "overall_style", "color_palette"]
    assert body["generated_image"] == "R0VORVJBVEVE"
    assert body["objects_detected"] == ["bed", "chair"]
    assert body["condition_analysis"] == {"bed": "old", "chair": "acceptable"}
    assert body["items_replaced"] == ["bed"] and body["items_kept"] == ["chair"]
    assert body["budget_applied"] == "high"
    assert body["materials_used"] == {"bed": {"material": "oak veneer", "finish": "matte"}}
    assert body["shopping_metadata"] == [{"item_type": "bed", "style": "modern", "material": "wood",
                                          "color": "beige", "confidence": 0.75}]
    paths = [p for p, _ in Stub.calls]
    assert paths == ["/detect", "/condition/detect", "/advise/reason-upgrades", "/segment",
                     "/advise/refine-budget", "/generate/budget-aware", "/generate/analyze-output"]
    calls = dict(Stub.calls)
    assert [b["label"] for b in calls["/segment"]["bboxes"]] == ["bed", "bed"]  # not the chair
    gen = calls["/generate/budget-aware"]
    assert gen["base_prompt"] == "Modern interior design. warm oak"
    assert gen["budget"] == "high" and gen["replace_items"] == ["bed"] and gen["mode"] == "balanced"
    mask = Image.open(io.BytesIO(base64.b64decode(gen["masks"]["bed"])))
    assert mask.size == (W, H) and mask.mode == "L"
    px = mask.load()
    assert px[5, 5] == 255 and px[12, 20] == 255  # both bed boxes
    assert px[25, 10] == 0  # the chair is kept
    assert sum(1 for y in range(H) for x in range(W) if px[x, y]) == 10 * 7 + 8 * 10


def test_nothing_to_replace_skips_segmentation(gw):
    sid = session(gw, [])
    Stub.calls.clear()
    r = requests.post(gw.url("/workflow/enhanced"), json={"image_b64": photo_b64(), "session_id": sid,
                                                          "base_prompt": None})
    assert r.status_code == 200, r.text
    assert "/segment" not in [p for p, _ in Stub.calls]
    assert dict(Stub.calls)["/generate/budget-aware"]["masks"] is None


def test_errors_name_the_step(gw):
    sid = session(gw, ["bed"])
    r = requests.post(gw.url("/workflow/enhanced"), json={"image_b64": photo_b64(), "session_id": "nope"})
    assert r.status_code == 404 and "collect-preferences" in r.json()["detail"]
    r = requests.post(gw.url("/workflow/enhanced"), json={"image_b64": "data:image/png;base64,AAAA",
                                                          "session_id": sid})
    assert r.status_code == 400 and "data:" in r.json()["detail"]
    r = requests.post(gw.url("/workflow/enhanced"), json={"session_id": sid})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "image_b64"]
    try:
        Stub.fail["/detect"] = (415, {"detail": "not an image: expected JPEG, PNG or WebP"})
        r = requests.post(gw.url("/workflow/enhanced"), json={"image_b64": photo_b64(), "session_id": sid})
        assert r.status_code == 415
        assert r.json()["detail"] == "detect service (/detect): not an image: expected JPEG, PNG or WebP"
        del Stub.fail["/detect"]
        Stub.fail["/generate/budget-aware"] = (500, {"detail": "out of memory"})
        r = requests.post(gw.url("/workflow/enhanced"), json={"image_b64": photo_b64(), "session_id": sid})
        assert r.status_code == 502
        assert "generate service error: /generate/budget-aware answered HTTP 500: out of memory" == r.json()["detail"]
    finally:
        Stub.fail.clear()


def test_unreachable_service_is_502():
    dead = f"http://127.0.0.1:{free_port()}"
    g = start_service("gateway", {"DETECT_URL": dead})
    try:
        sid = session(g, ["bed"])
        r = requests.post(g.url("/workflow/enhanced"), json={"image_b64": photo_b64(), "session_id": sid})
        assert r.status_code == 502
        assert r.json()["detail"].startswith("detect service error: cannot reach " + dead)
    finally:
        g.stop()


def test_rooms_job_runs_in_the_background(gw):
    Stub.calls.clear()
    Stub.fail["/render"] = (200, {"image_b64": "UkVOREVSRUQ="})
    try:
        r = requests.post(gw.url("/rooms"), json={"image_b64": photo_b64(), "prompt": "cosy"})
        assert r.status_code == 200
        job = r.json()["job_id"]
        deadline = time.time() + 10
        while time.time() < deadline:
            state = requests.get(gw.url(f"/rooms/{job}")).json()
            if state["status"] in ("done", "failed"):
                break
            time.sleep(0.05)
        assert state["status"] == "done", state
        assert state["error"] is None
        assert state["result"]["output_url"] is None
        assert state["result"]["image_b64"] == "UkVOREVSRUQ="
        assert [p for p, _ in Stub.calls] == ["/detect", "/segment", "/advise", "/render"]
        calls = dict(Stub.calls)
        assert calls["/advise"]["prompt"] == "cosy" and len(calls["/advise"]["masks"]) == 3
        assert calls["/render"]["options"] == {}
    finally:
        Stub.fail.clear()


def test_rooms_failure_and_unknown_job(gw):
    Stub.fail["/segment"] = (422, {"detail": "bbox 0: x2 must be greater than x1"})
    try:
        job = requests.post(gw.url("/rooms"), json={"image_b64": photo_b64()}).json()["job_id"]
        deadline = time.time() + 10
        while time.time() < deadline:
            state = requests.get(gw.url(f"/rooms/{job}")).json()
            if state["status"] in ("done", "failed"):
                break
            time.sleep(0.05)
        assert state["status"] == "failed" and state["result"] is None
        assert state["error"] == "segment service (/segment): bbox 0: x2 must be greater than x1"
    finally:
        Stub.fail.clear()
    r = requests.get(gw.url("/rooms/no-such-job"))
    assert r.status_code == 404 and r.json() == {"detail": "job not found"}
    r = requests.post(gw.url("/rooms"), json={"prompt": "x"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "image_b64"]
