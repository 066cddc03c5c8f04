"""Accounts through the gateway (CONTRACT.md §4.13–4.15, "Our decisions" 2), on the
backend store_stack picks."""
import re
import time
import uuid

import pytest
import requests

from store_stack import Stack

ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?$")
TOKEN = re.compile(r"^[A-Za-z0-9_-]{43}$")


@pytest.fixture(scope="module")
def gw():
    s = Stack()
    yield s
    s.close()


def email():
    return f"test_{uuid.uuid4().hex[:10]}@example.com"


def signup(gw, em=None, pw="SecurePassword123", name="Test User"):
    return requests.post(gw.url("/auth/signup"), json={"email": em or email(), "password": pw, "name": name})


def test_signup_answer(gw):
    em = email()
    r = signup(gw, "  " + em.upper() + " ")
    assert r.status_code == 200, r.text
    body = r.json()
    assert list(body) == ["access_token", "token_type", "user_id", "email", "name", "token", "created_at"]
    assert TOKEN.match(body["access_token"])
    assert body["token"] == body["access_token"]
    assert body["token_type"] == "bearer"
    assert uuid.UUID(body["user_id"]).version == 4
    assert body["email"] == em  # trimmed, lower case
    assert body["name"] == "Test User"
    assert ISO.match(body["created_at"])


def test_signup_errors(gw):
    em = email()
    assert signup(gw, em).status_code == 200
    r = signup(gw, em.upper())
    assert (r.status_code, r.json()) == (400, {"detail": "Email already registered"})
    r = requests.post(gw.url("/auth/signup"), json={"email": em})
    assert r.status_code == 422
    assert [e["loc"] for e in r.json()["detail"]] == [["body", "password"], ["body", "name"]]
    assert all(e["type"] == "missing" for e in r.json()["detail"])
    r = requests.post(gw.url("/auth/signup"), json={"email": 5, "password": "x" * 9, "name": "n"})
    assert r.status_code == 422 and r.json()["detail"][0]["type"] == "string_type"
    r = signup(gw, "not-an-email")
    assert r.status_code == 422
    d = r.json()["detail"][0]
    assert d["loc"] == ["body", "email"] and d["type"] == "value_error"
    assert d["msg"].startswith("value is not a valid email address: ")
    assert d["input"] == "not-an-email"
    r = signup(gw, pw="short")
    d = r.json()["detail"][0]
    assert (r.status_code, d["loc"], d["type"], d["msg"]) == (
        422, ["body", "password"], "string_too_short", "String should have at least 8 characters")
    r = signup(gw, name="")
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "name"]
    r = requests.post(gw.url("/auth/signup"), data="{", headers={"Content-Type": "application/json"})
    assert r.status_code == 422 and r.json()["detail"][0]["type"] == "json_invalid"


def test_login(gw):
    em = email()
    s = signup(gw, em).json()
    r = requests.post(gw.url("/auth/login"), json={"email": em.upper(), "password": "SecurePassword123"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert list(body) == ["access_token", "token_type", "user_id", "email", "name", "token", "created_at"]
    assert body["user_id"] == s["user_id"] and body["created_at"] == s["created_at"]
    assert body["access_token"] != s["access_token"]
    for pw, who in (("wrong password", em), ("SecurePassword123", email())):
        r = requests.post(gw.url("/auth/login"), json={"email": who, "password": pw})
        assert (r.status_code, r.json()) == (401, {"detail": "Invalid email or password"})
    r = requests.post(gw.url("/auth/login"), json={"email": em})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "password"]


def test_verify_get_and_post(gw):
    s = signup(gw).json()
    want = {"valid": True, "user_id": s["user_id"], "email": s["email"], "name": "Test User"}
    r = requests.get(gw.url("/auth/verify"), params={"token": s["token"]})
    assert r.status_code == 200 and r.json() == want
    assert list(r.json()) == ["valid", "user_id", "email", "name"]
    r = requests.post(gw.url("/auth/verify"), json={"token": s["token"]})
    assert r.status_code == 200 and r.json() == want
    r = requests.get(gw.url("/auth/verify"))
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "token"]
    r = requests.post(gw.url("/auth/verify"), json={})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "token"]
    for bad in ("", "x", "' OR 1=1 --", s["token"][:-1] + ("A" if s["token"][-1] != "A" else "B"),
                s["token"] + "A", "a" * 100000):
        r = requests.post(gw.url("/auth/verify"), json={"token": bad})
        assert (r.status_code, r.json()) == (401, {"detail": "Invalid token"}), bad[:50]
    r = requests.get(gw.url("/auth/verify/"), params={"token": "x"}, allow_redirects=False)
    assert r.status_code == 307 and r.headers["location"].endswith("/auth/verify?token=x")


def test_expired_tokens():
    s = Stack({"AUTH_TOKEN_TTL_S": "1"})
    try:
        tok = signup(s).json()["token"]
        assert requests.get(s.url("/auth/verify"), params={"token": tok}).status_code == 200
        time.sleep(1.2)
        r = requests.get(s.url("/auth/verify"), params={"token": tok})
        assert (r.status_code, r.json()) == (401, {"detail": "Token expired"})
        r = requests.get(s.url("/designs/list"), headers={"Authorization": f"Bearer {tok}"})
        assert (r.status_code, r.json()) == (401, {"detail": "Token expired"})
        assert r.headers["www-authenticate"] == "Bearer"
    finally:
        s.close()


def test_login_failure_limits():
    s = Stack({"LOGIN_MAX_FAILURES_PER_EMAIL": "3", "LOGIN_MAX_FAILURES_PER_ADDRESS": "6",
               "LOGIN_FAILURE_WINDOW_S": "60", "TRUST_X_FORWARDED_FOR": "true"})
    try:
        em = email()
        assert signup(s, em).status_code == 200

        def login(who, pw, addr):
            return requests.post(s.url("/auth/login"), json={"email": who, "password": pw},
                                 headers={"X-Forwarded-For": f"203.0.113.7, {addr}"})

        for _ in range(3):
            assert login(em, "wrong password", "198.51.100.1").status_code == 401
        r = login(em, "SecurePassword123", "198.51.100.2")  # the right one, another address
        assert r.status_code == 429
        assert 55 <= int(r.headers["retry-after"]) <= 60
        assert r.json()["detail"].startswith("Too many failed login attempts. Try again in ")
        # Per address: six unknown emails from one address lock that address out.
        for i in range(6):
            assert login(email(), "whatever1", "198.51.100.3").status_code == 401
        r = login(email(), "whatever1", "198.51.100.3")
        assert r.status_code == 429 and "retry-after" in r.headers
        assert login(email(), "whatever1", "198.51.100.4").status_code == 401
    finally:
        s.close()
