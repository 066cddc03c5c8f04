"""test-mvp-endpoints.ps1 T3–T7 (CONTRACT.md §13) as the script sends them: T3–T5 and T7
pass; T6 fails with 401 on purpose (listing needs the owner's token)."""
import random

import pytest
import requests

from store_stack import Stack


@pytest.fixture(scope="module")
def gw():
    s = Stack()
    yield s
    s.close()


def test_t3_to_t7(gw):
    em = f"test_{random.randint(1000, 9999)}{random.randint(0, 10**6)}@example.com"
    # T3 signup: prints name, user_id, email, access_token.Substring(0,20)
    r = requests.post(gw.url("/auth/signup"),
                      json={"email": em, "password": "SecurePassword123", "name": "Test User"})
    assert r.status_code == 200
    t3 = r.json()
    assert t3["name"] == "Test User" and t3["email"] == em and len(t3["access_token"]) >= 20
    user_id = t3["user_id"]
    # T4 login with the same credentials
    r = requests.post(gw.url("/auth/login"), json={"email": em, "password": "SecurePassword123"})
    assert r.status_code == 200
    assert r.json()["name"] == "Test User" and len(r.json()["access_token"]) >= 20
    # T5 save: no Authorization header, images that are not base64 at all
    t5 = {"user_id": user_id, "original_image_b64": "base64_encoded_original_image_here",
          "generated_image_b64": "base64_encoded_generated_image_here",
          "detected_objects": ["bed", "curtains", "chair"], "budget": "medium",
          "design_tips": "Modern minimalist with warm tones", "total_cost_inr": 25000,
          "metadata": {"room_type": "bedroom", "room_size_sqft": 150}}
    r = requests.post(gw.url("/designs/save"), json=t5)
    assert r.status_code == 200
    design_id = r.json()["design_id"]
    assert r.json()["shareable_link"].endswith("/designs/" + design_id)
    # T6 list without a token: refused as decided
    r = requests.get(gw.url(f"/designs/user/{user_id}"), params={"limit": 10, "skip": 0})
    assert (r.status_code, r.json()) == (401, {"detail": "Not authenticated"})
    # T7 share: whatsapp and facebook links of at least 50 characters
    r = requests.post(gw.url("/designs/share"), json={"design_id": design_id, "platform": "whatsapp"})
    assert r.status_code == 200
    opts = r.json()["all_share_options"]
    assert len(opts["whatsapp"]) >= 50 and len(opts["facebook"]) >= 50
    # T8 health
    assert requests.get(gw.url("/health")).json()["status"] == "ok"
