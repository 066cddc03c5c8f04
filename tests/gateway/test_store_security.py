"""What the database holds and what hostile input does, through the gateway: no password
or token in the raw database bytes or the log, SQL metacharacters and 1 MB strings in every field
kept verbatim or refused with 422, never executed."""
import base64
import os
import time
import uuid

import pytest
import requests

from store_stack import Stack

EVIL = "Robert'); DROP TABLE users; -- \" \\ %s $1 ? \u20b9 \U0001F600"
MB = ("x'\";--\\" * 150000)[: 1 << 20]


@pytest.fixture(scope="module")
def gw():
    s = Stack({"ACCESS_LOG": "true"})
    yield s
    s.close()


def test_no_secret_in_the_raw_database(gw):
    em = f"raw_{uuid.uuid4().hex[:8]}@example.com"
    pw = "Unmistakable-" + uuid.uuid4().hex
    r = requests.post(gw.url("/auth/signup"), json={"email": em, "password": pw, "name": "Raw"})
    assert r.status_code == 200
    tokens = [r.json()["token"]]
    for _ in range(2):
        tokens.append(requests.post(gw.url("/auth/login"), json={"email": em, "password": pw}).json()["token"])
    auth = {"Authorization": f"Bearer {tokens[0]}"}
    assert requests.post(gw.url("/designs/save"), headers=auth, json={
        "user_id": "x", "original_image_b64": "o", "generated_image_b64": "g", "detected_objects": [],
        "budget": "low", "design_tips": pw[:5], "total_cost_inr": 1}).status_code == 200
    found_email = False
    for path in gw.raw_files():
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError:
            continue
        found_email |= em.encode() in data
        assert pw.encode() not in data, path
        for t in tokens:
            assert t.encode() not in data, path
            assert base64.urlsafe_b64decode(t + "=") not in data, path
    assert found_email, "the search must see what the database stores"
    # Nor in the gateway's log, which has a line for every request above.
    assert requests.get(gw.url("/auth/verify"), params={"token": tokens[1]}).status_code == 200
    deadline = time.time() + 5  # the access line is written just after the answer is sent
    while "path=/auth/verify" not in gw.server.logs() and time.time() < deadline:
        time.sleep(0.05)
    log = gw.server.logs()
    assert "path=/auth/verify" in log
    assert pw not in log and not any(t in log for t in tokens)
    h = gw.sql("SELECT password_hash FROM users WHERE email = '%s'" % em)[0][0]
    assert h.startswith("$argon2id$v=19$")


def test_account_fields_refuse_megabytes(gw):
    for field in ("email", "password", "name"):
        body = {"email": f"mb{uuid.uuid4().hex[:8]}@example.com", "password": "long enough", "name": "n"}
        body[field] = MB
        r = requests.post(gw.url("/auth/signup"), json=body)
        assert r.status_code == 422, field
        assert r.json()["detail"][0]["loc"] == ["body", field]
    r = requests.post(gw.url("/auth/login"), json={"email": MB, "password": "x"})
    assert r.status_code == 422
    r = requests.post(gw.url("/auth/login"), json={"email": "a@b.co", "password": MB})
    assert r.status_code == 422
    r = requests.post(gw.url("/auth/verify"), json={"token": MB})
    assert (r.status_code, r.json()) == (401, {"detail": "Invalid token"})


def test_account_fields_keep_metacharacters(gw):
    em = f"o'brien+{uuid.uuid4().hex[:6]}@example.com"
    r = requests.post(gw.url("/auth/signup"), json={"email": em, "password": EVIL, "name": EVIL})
    assert r.status_code == 200, r.text
    assert r.json()["name"] == EVIL
    r = requests.post(gw.url("/auth/login"), json={"email": em, "password": EVIL})
    assert r.status_code == 200 and r.json()["name"] == EVIL
    r = requests.post(gw.url("/auth/login"), json={"email": "' OR '1'='1", "password": "' OR '1'='1"})
    assert r.status_code == 401
    r = requests.get(gw.url("/auth/verify"), params={"token": "' OR 1=1 --"})
    assert r.status_code == 401


@pytest.mark.parametrize("value", [EVIL, MB], ids=["metacharacters", "1MB"])
def test_design_and_preference_fields_are_data(gw, value):
    r = requests.post(gw.url("/auth/signup"), json={
        "email": f"d{uuid.uuid4().hex[:8]}@example.com", "password": "long enough", "name": "D"})
    uid, auth = r.json()["user_id"], {"Authorization": f"Bearer {r.json()['token']}"}
    sent = {"user_id": value, "original_image_b64": value, "generated_image_b64": value,
            "detected_objects": [value, {value[:100]: value}], "budget": value, "design_tips": value,
            "total_cost_inr": 7, "metadata": {value[:1000]: value, "k": [value]}}
    r = requests.post(gw.url("/designs/save"), json=sent, headers=auth)
    assert r.status_code == 200, r.text[:200]
    did = r.json()["design_id"]
    doc = requests.get(gw.url(f"/designs/user/{uid}"), headers=auth).json()["designs"][0]
    for k in ("original_image_b64", "generated_image_b64", "detected_objects", "budget", "design_tips",
              "metadata"):
        assert doc[k] == sent[k], k
    app = {"design_name": value, "room_type": value, "original_image": value, "generated_image": value,
           "detected_objects": [value], "suggestions": {value[:10]: [value]}, "cost_estimate": value}
    r = requests.post(gw.url("/designs/save"), json=app, headers=auth)
    assert r.status_code == 200
    doc = requests.get(gw.url("/designs/list"), params={"limit": 1}, headers=auth).json()["designs"][0]
    for k, v in app.items():
        assert doc[k] == v, k
    r = requests.post(gw.url("/api/designs"), json={"originalImage": value, "advice": [value], "prompt": value})
    assert r.status_code == 200
    assert requests.get(gw.url(f"/designs/share/{r.json()['id']}")).json()["original_image"] == value
    r = requests.post(gw.url("/designs/share"), json={"design_id": did, "platform": value})
    assert r.status_code == 200 and r.json()["platform"] == value
    r = requests.post(gw.url("/designs/share"), json={"design_id": value, "platform": "link"})
    assert r.status_code == 404
    r = requests.post(gw.url("/api/collect-preferences"), json={
        "budget_range": value, "design_tips": value, "item_replacement": [value], "session_id": value})
    if len(value) > 256:  # a key: refused on both backends alike
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "session_id"]
        r = requests.post(gw.url("/api/collect-preferences"), json={
            "budget_range": value, "design_tips": value, "item_replacement": [value]})
    assert r.status_code == 200
    sid = r.json()["session_id"]
    got = requests.get(gw.url("/api/preferences/" + requests.utils.quote(sid, safe="")))
    assert got.json() == {"session_id": sid, "budget_range": value, "design_tips": value,
                          "item_replacement": [value]}
    # Every table is still there.
    for t in ("users", "tokens", "designs", "blobs", "sessions"):
        assert int(gw.sql(f"SELECT count(*) FROM {t}")[0][0]) >= 1


def test_nul_characters_are_refused(gw):
    r = requests.post(gw.url("/auth/signup"), json={"email": "n@x.co", "password": "pass\u0000word", "name": "n"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "password"]
    r = requests.post(gw.url("/designs/save"), json={
        "user_id": "x", "original_image_b64": "a\u0000b", "generated_image_b64": "g", "detected_objects": ["\u0000"],
        "budget": "low", "design_tips": "", "total_cost_inr": 1})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "original_image_b64"]
