"""Saved designs and preferences through the gateway (CONTRACT.md §4.3–4.4, §4.6,
§4.16–4.20, "Our decisions" 1 and 3), on the backend store_stack picks."""
import base64
import os
import re
import uuid

import pytest
import requests

from store_stack import Stack

ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?$")
BASE = "https://share.example.org/app"


@pytest.fixture(scope="module")
def gw():
    s = Stack({"PUBLIC_BASE_URL": BASE + "/"})
    yield s
    s.close()


def account(gw):
    r = requests.post(gw.url("/auth/signup"), json={
        "email": f"u{uuid.uuid4().hex[:12]}@example.com", "password": "SecurePassword123", "name": "Ann Owner"})
    assert r.status_code == 200
    body = r.json()
    return body["user_id"], {"Authorization": f"Bearer {body['token']}"}


def script_design(user_id="whoever", **over):
    d = {"user_id": user_id, "original_image_b64": base64.b64encode(os.urandom(3000)).decode(),
         "generated_image_b64": "data:image/png;base64," + base64.b64encode(os.urandom(2000)).decode(),
         "detected_objects": ["bed", {"label": "chair", "score": 0.5}], "budget": "medium",
         "design_tips": "Modern minimalist", "total_cost_inr": 25000,
         "metadata": {"room_type": "bedroom", "room_size_sqft": 150.0}}
    d.update(over)
    return d


def save(gw, body, headers=None):
    return requests.post(gw.url("/designs/save"), json=body, headers=headers or {})


def test_script_save_and_list(gw):
    uid, auth = account(gw)
    sent = script_design(uid)
    r = save(gw, sent, auth)
    assert r.status_code == 200, r.text
    body = r.json()
    assert list(body) == ["design_id", "message", "shareable_link", "saved_at"]
    assert body["message"] == "Design saved successfully"
    assert body["shareable_link"] == f"{BASE}/designs/{body['design_id']}"
    assert ISO.match(body["saved_at"])
    r = requests.get(gw.url(f"/designs/user/{uid}"), headers=auth)
    assert r.status_code == 200, r.text
    listing = r.json()
    assert list(listing) == ["designs", "total_count", "page", "page_size"]
    assert (listing["total_count"], listing["page"], listing["page_size"]) == (1, 1, 10)
    doc = listing["designs"][0]
    assert list(doc) == ["_id", "user_id", "original_image_b64", "generated_image_b64", "detected_objects",
                         "budget", "design_tips", "total_cost_inr", "metadata", "created_at", "views", "shares"]
    assert doc["_id"] == body["design_id"] and doc["user_id"] == uid
    for k in ("original_image_b64", "generated_image_b64", "detected_objects", "budget", "design_tips",
              "total_cost_inr", "metadata"):
        assert doc[k] == sent[k], k
    assert doc["created_at"] == body["saved_at"]
    assert (doc["views"], doc["shares"]) == (0, 0)
    assert '"room_size_sqft":150.0' in r.text  # floats keep their form


def test_script_save_validation(gw):
    r = save(gw, {"user_id": "x"})
    assert r.status_code == 422
    assert [e["loc"][1] for e in r.json()["detail"]] == [
        "original_image_b64", "generated_image_b64", "detected_objects", "budget", "design_tips", "total_cost_inr"]
    r = save(gw, script_design(total_cost_inr=25000.5))
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "total_cost_inr"]
    r = save(gw, script_design(detected_objects="bed"))
    assert r.status_code == 422 and r.json()["detail"][0]["type"] == "list_type"
    r = save(gw, script_design(total_cost_inr="25000", metadata=None))
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "metadata"]
    r = save(gw, script_design(total_cost_inr="25000"))  # lax int
    assert r.status_code == 200


def test_frontend_shape_saves(gw):
    uid, auth = account(gw)
    gen = "data:image/png;base64," + base64.b64encode(os.urandom(1500)).decode()
    sent = {"user_id": uid, "design_name": "My room", "room_type": "bedroom", "original_image": None,
            "generated_image": gen, "detected_objects": ["bed", "lamp"],
            "suggestions": ["Paint the walls", "Swap the lamp"],
            "cost_estimate": {"total_cost_inr": 32500, "budget_tier": "medium", "breakdown": {"x": 1}}}
    r = save(gw, sent, auth)
    assert r.status_code == 200, r.text
    did = r.json()["design_id"]
    # test-mvp-services.ps1 T7: the frontend shape with a made-up user and no token
    r = save(gw, {"user_id": "test_user_123", "design_name": "Test Design", "room_type": "bedroom",
                  "original_image": "orig", "generated_image": "gen", "detected_objects": ["bed"],
                  "suggestions": "Keep it simple", "cost_estimate": 1000})
    assert r.status_code == 200, r.text
    guest = r.json()["design_id"]
    r = requests.post(gw.url("/designs/share"), json={"design_id": guest, "platform": "link"})
    assert r.status_code == 200
    doc = requests.get(gw.url("/designs/list"), headers=auth).json()
    assert doc["count"] == 1 and doc["total_count"] == 1
    d = doc["designs"][0]
    assert d["_id"] == did
    assert d["original_image"] is None and d["generated_image"] == gen
    for k in ("design_name", "room_type", "detected_objects", "suggestions", "cost_estimate"):
        assert d[k] == sent[k], k
    assert (d["budget"], d["total_cost_inr"], d["metadata"]) == ("medium", 32500, {})
    shared = requests.get(gw.url(f"/designs/share/{guest}")).json()
    assert shared["design_tips"] == "Keep it simple" and shared["created_by"] == "Anonymous"
    assert shared["original_image"] == "orig" and shared["total_cost_inr"] is None


def test_legacy_save(gw):
    r = requests.post(gw.url("/api/designs"), json={
        "originalImage": "data:image/jpeg;base64,/9j/4AAQ", "detectedObjects": ["bed"],
        "segmentedImage": None, "advice": ["Add plants"], "generatedImage": "g", "prompt": "cozy",
        "timestamp": "2025-11-21T10:00:00Z"})
    assert r.status_code == 200
    body = r.json()
    assert list(body) == ["status", "message", "id"]
    assert (body["status"], body["message"]) == ("ok", "Design saved successfully")
    shared = requests.get(gw.url(f"/designs/share/{body['id']}"))
    assert shared.status_code == 200  # the original answered 500 for legacy designs
    assert shared.json()["original_image"] == "data:image/jpeg;base64,/9j/4AAQ"
    assert shared.json()["budget"] is None
    r = requests.post(gw.url("/api/designs"), json={"detectedObjects": "bed"})
    assert r.status_code == 422


def test_share_view_counts_and_links(gw):
    uid, auth = account(gw)
    did = save(gw, script_design(uid), auth).json()["design_id"]
    for i in range(3):
        r = requests.get(gw.url(f"/designs/share/{did}"))
        assert r.status_code == 200
        body = r.json()
        assert list(body) == ["design_id", "generated_image", "original_image", "budget", "design_tips",
                              "total_cost_inr", "created_at", "created_by", "views", "shares"]
        assert body["views"] == i  # counted after answering, as the original
        assert body["created_by"] == "Ann Owner"
    link = f"{BASE}/designs/{did}"
    want = {"link": link,
            "whatsapp": f"https://wa.me/?text=Check%20out%20my%20room%20redesign!%20{link}",
            "facebook": f"https://www.facebook.com/sharer/sharer.php?u={link}",
            "twitter": f"https://twitter.com/intent/tweet?url={link}&text=Check%20out%20my%20AI%20room%20redesign!",
            "pinterest": f"https://pinterest.com/pin/create/button/?url={link}",
            "linkedin": f"https://www.linkedin.com/sharing/share-offsite/?url={link}"}
    for platform in ("whatsapp", "twitter", "myspace"):
        r = requests.post(gw.url("/designs/share"), json={"design_id": did, "platform": platform})
        assert r.status_code == 200
        body = r.json()
        assert list(body) == ["design_id", "platform", "share_url", "all_share_options", "message"]
        assert body["all_share_options"] == want
        assert list(body["all_share_options"]) == list(want)
        assert body["share_url"] == want.get(platform, link)
        assert body["platform"] == platform
    body = requests.get(gw.url(f"/designs/share/{did}")).json()
    assert (body["views"], body["shares"]) == (3, 3)
    for r in (requests.get(gw.url("/designs/share/nope")),
              requests.post(gw.url("/designs/share"), json={"design_id": "nope", "platform": "link"})):
        assert (r.status_code, r.json()) == (404, {"detail": "Design not found"})
    r = requests.post(gw.url("/designs/share"), json={"design_id": did})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "platform"]


def test_paging_and_limits(gw):
    uid, auth = account(gw)
    ids = [save(gw, script_design(uid, design_tips=f"n{i}"), auth).json()["design_id"] for i in range(12)]
    r = requests.get(gw.url(f"/designs/user/{uid}"), params={"limit": 5, "skip": 5}, headers=auth).json()
    assert [d["_id"] for d in r["designs"]] == ids[::-1][5:10]
    assert (r["total_count"], r["page"], r["page_size"]) == (12, 2, 5)
    r = requests.get(gw.url("/designs/list"), params={"user_id": uid, "limit": 3}, headers=auth).json()
    assert [d["_id"] for d in r["designs"]] == ids[::-1][:3]
    for q, field, msg in (({"limit": 0}, "limit", "greater than or equal to 1"),
                          ({"limit": 101}, "limit", "less than or equal to 100"),
                          ({"skip": -1}, "skip", "greater than or equal to 0"),
                          ({"limit": "ten"}, "limit", "valid integer")):
        r = requests.get(gw.url(f"/designs/user/{uid}"), params=q, headers=auth)
        assert r.status_code == 422, q
        assert r.json()["detail"][0]["loc"] == ["query", field] and msg in r.json()["detail"][0]["msg"]


def test_ownership(gw):
    ann, ann_auth = account(gw)
    bob, bob_auth = account(gw)
    did = save(gw, script_design(ann), ann_auth).json()["design_id"]
    guest = save(gw, script_design(ann)).json()["design_id"]  # no token: nobody's
    r = requests.get(gw.url(f"/designs/user/{ann}"))
    assert (r.status_code, r.json()) == (401, {"detail": "Not authenticated"})
    r = requests.get(gw.url(f"/designs/user/{ann}"), headers=bob_auth)
    assert (r.status_code, r.json()) == (403, {"detail": "Not authorized to view these designs"})
    r = requests.get(gw.url("/designs/list"), params={"user_id": ann}, headers=bob_auth)
    assert r.status_code == 403
    assert requests.get(gw.url("/designs/list"), headers=bob_auth).json()["count"] == 0
    r = requests.delete(gw.url(f"/designs/{did}"), params={"user_id": ann})
    assert (r.status_code, r.json()) == (401, {"detail": "Not authenticated"})
    r = requests.delete(gw.url(f"/designs/{did}"), params={"user_id": ann}, headers=bob_auth)
    assert (r.status_code, r.json()) == (403, {"detail": "Not authorized to delete this design"})
    r = requests.delete(gw.url(f"/designs/{guest}"), headers=ann_auth)
    assert r.status_code == 403
    r = requests.delete(gw.url("/designs/nope"), headers=ann_auth)
    assert (r.status_code, r.json()) == (404, {"detail": "Design not found"})
    r = requests.delete(gw.url(f"/designs/{did}"), headers=ann_auth)
    assert (r.status_code, r.json()) == (200, {"message": "Design deleted successfully"})
    assert requests.get(gw.url(f"/designs/share/{did}")).status_code == 404
    assert requests.get(gw.url(f"/designs/user/{ann}"), headers=ann_auth).json()["total_count"] == 0
    for bad in ("Bearer nonsense", "Bearer " + "A" * 43, "Basic abc"):
        r = requests.get(gw.url(f"/designs/user/{ann}"), headers={"Authorization": bad})
        assert r.status_code == 401
    r = save(gw, script_design(ann), {"Authorization": "Bearer " + "A" * 43})
    assert (r.status_code, r.json()) == (401, {"detail": "Invalid token"})


def test_images_stored_once(gw):
    uid, auth = account(gw)
    before = int(gw.sql("SELECT count(*) FROM blobs")[0][0])
    img = base64.b64encode(os.urandom(5000)).decode()
    for _ in range(4):
        assert save(gw, script_design(uid, original_image_b64=img, generated_image_b64=img), auth).status_code == 200
    rows = gw.sql("SELECT size, refs FROM blobs WHERE size = 5000")
    assert rows == [["5000", "8"]]
    assert int(gw.sql("SELECT count(*) FROM blobs")[0][0]) == before + 1


def test_image_size_limit():
    s = Stack({"DESIGN_IMAGE_MAX_BYTES": "64k"})
    try:
        big = base64.b64encode(os.urandom(60000)).decode()  # 80000 characters
        r = save(s, script_design(generated_image_b64=big))
        assert r.status_code == 413
        assert r.json()["detail"].startswith("generated_image: the image is 80000 bytes")
        assert s.sql("SELECT count(*) FROM designs") == [["0"]]
    finally:
        s.close()


def test_preferences(gw):
    r = requests.post(gw.url("/api/collect-preferences"),
                      json={"budget_range": "high", "design_tips": "warm", "item_replacement": ["bed", "sofa"]})
    assert r.status_code == 200
    body = r.json()
    assert list(body) == ["session_id", "preferences_saved", "budget", "items_selected", "design_tips"]
    assert uuid.UUID(body["session_id"]).version == 4
    assert (body["preferences_saved"], body["budget"], body["items_selected"], body["design_tips"]) == (
        True, "high", ["bed", "sofa"], "warm")
    sid = body["session_id"]
    r = requests.get(gw.url(f"/api/preferences/{sid}"))
    assert r.json() == {"session_id": sid, "budget_range": "high", "design_tips": "warm",
                        "item_replacement": ["bed", "sofa"]}
    r = requests.post(gw.url("/api/collect-preferences"),
                      json={"budget_range": "low", "design_tips": "", "item_replacement": [], "session_id": sid})
    assert r.json()["session_id"] == sid
    assert requests.get(gw.url(f"/api/preferences/{sid}")).json()["item_replacement"] == []
    r = requests.get(gw.url("/api/preferences/unknown"))
    assert (r.status_code, r.json()) == (404, {"detail": "Session not found"})
    r = requests.post(gw.url("/api/collect-preferences"), json={"budget_range": "low", "design_tips": "",
                                                               "item_replacement": "bed"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "item_replacement"]


def test_health_reports_the_database(gw):
    body = requests.get(gw.url("/health")).json()
    assert body["status"] == "ok" and body["service"] == "Gateway"
    migrations = os.listdir(os.path.join(os.path.dirname(__file__), "..", "..", "src", "store", "migrations"))
    latest = max(int(f.split("_")[0]) for f in migrations if f.endswith(".sql"))
    assert body["database"] == {"backend": gw.backend, "reachable": True, "schema_version": latest}
    assert requests.get(gw.url("/")).json() == {"status": "ok", "service": "Gateway"}


def test_unreachable_database_gives_503():
    port_url = "postgresql://nobody@127.0.0.1:1/none?connect_timeout=1"
    s = Stack({"DATABASE_URL": port_url})
    try:
        body = requests.get(s.url("/health")).json()
        assert body["database"]["backend"] == "postgresql" and body["database"]["reachable"] is False
        r = requests.post(s.url("/auth/signup"), json={"email": "a@b.co", "password": "12345678", "name": "n"})
        assert r.status_code == 503
        assert r.json()["detail"].startswith("Database unreachable: cannot connect to PostgreSQL at "
                                             "postgresql://nobody@127.0.0.1:1/none")
        # validation still comes first, as in FastAPI
        assert requests.post(s.url("/designs/save"), json={}).status_code == 422
    finally:
        s.close()
