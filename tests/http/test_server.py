"""Black-box tests of the HTTP core against the running binaries (CONTRACT.md §2)."""
import http.client
import json
import os
import socket
import threading
import time

import requests

from harness import start_echo, start_service

ORIGIN = "http://localhost:5173"


# ---------------------------------------------------------------- routing (gateway)

def test_health_and_root(gateway):
    for path in ("/", "/health"):
        r = requests.get(gateway.url(path))
        assert r.status_code == 200
        assert r.headers["content-type"] == "application/json"
        if path == "/":
            assert r.text == '{"status":"ok","service":"Gateway"}'
        else:  # /health also reports the database (tests/gateway/test_designs.py)
            assert r.text.startswith('{"status":"ok","service":"Gateway","database":{')


def test_404_body(gateway):
    r = requests.get(gateway.url("/no/such/path"))
    assert r.status_code == 404
    assert r.json() == {"detail": "Not Found"}


def test_405_body_and_allow(gateway):
    r = requests.post(gateway.url("/health"))
    assert r.status_code == 405
    assert r.json() == {"detail": "Method Not Allowed"}
    assert r.headers["allow"] == "GET"
    r = requests.head(gateway.url("/"))  # FastAPI GET routes take GET only
    assert r.status_code == 405
    assert r.headers["allow"] == "GET"


def test_trailing_slash_redirect_keeps_query(gateway):
    r = requests.get(gateway.url("/health/?a=1&b=x y&c=%2F"), allow_redirects=False)
    assert r.status_code == 307
    assert r.text == ""
    assert r.headers["location"] == gateway.url("/health?a=1&b=x%20y&c=%2F")
    r = requests.get(gateway.url("/health/?q=1"))
    assert r.status_code == 200
    assert r.url == gateway.url("/health?q=1")


def test_docs_and_openapi(gateway):
    r = requests.get(gateway.url("/docs"))
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert "/health" in r.text
    spec = requests.get(gateway.url("/openapi.json")).json()
    assert spec["info"]["title"] == "Artistry Gateway (Optimized)"
    assert "get" in spec["paths"]["/health"]
    assert requests.get(gateway.url("/redoc")).status_code == 200
    assert requests.get(gateway.url("/docs/oauth2-redirect")).status_code == 200


def test_metrics(gateway):
    requests.get(gateway.url("/health"))
    requests.get(gateway.url("/nope"))
    text = requests.get(gateway.url("/metrics")).text
    assert 'artistry_http_requests_total{service="gateway",route="/health",method="GET",status="200"}' in text
    assert 'route="unmatched",method="GET",status="404"' in text
    assert 'artistry_http_request_duration_seconds_bucket{service="gateway",route="/health",method="GET",le="+Inf"}' in text
    assert "artistry_http_requests_in_flight" in text
    rss = [l for l in text.splitlines() if l.startswith("process_resident_memory_bytes ")]
    assert rss and int(rss[0].split()[1]) > 1_000_000


def test_request_id_is_echoed_or_made(gateway):
    r = requests.get(gateway.url("/health"), headers={"X-Request-ID": "abc-123"})
    assert r.headers["x-request-id"] == "abc-123"
    r = requests.get(gateway.url("/health"), headers={"X-Request-ID": "bad id\u00e9"})
    assert r.headers["x-request-id"] != "bad id"
    assert len(r.headers["x-request-id"]) == 16
    assert "rid=abc-123" in gateway.logs()


# ---------------------------------------------------------------- CORS

def test_cors_preflight_allowed(gateway):
    for origin in ("http://localhost:5173", "http://127.0.0.1:5173"):
        r = requests.options(gateway.url("/health"), headers={
            "Origin": origin, "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type,authorization"})
        assert r.status_code == 200
        assert r.text == "OK"
        assert r.headers["access-control-allow-origin"] == origin
        assert r.headers["access-control-allow-methods"] == "DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT"
        assert r.headers["access-control-allow-headers"] == "content-type,authorization"
        assert r.headers["access-control-allow-credentials"] == "true"
        assert r.headers["access-control-max-age"] == "600"
        assert r.headers["vary"] == "Origin"


def test_cors_preflight_refused(gateway):
    r = requests.options(gateway.url("/health"), headers={
        "Origin": "http://localhost:5174", "Access-Control-Request-Method": "POST"})
    assert r.status_code == 400
    assert r.text == "Disallowed CORS origin"
    assert "access-control-allow-origin" not in r.headers


def test_cors_simple_requests(gateway):
    r = requests.get(gateway.url("/health"), headers={"Origin": ORIGIN})
    assert r.headers["access-control-allow-origin"] == ORIGIN
    assert r.headers["access-control-allow-credentials"] == "true"
    assert r.headers["vary"] == "Origin"
    r = requests.get(gateway.url("/health"), headers={"Origin": "http://evil.example"})
    assert r.status_code == 200
    assert "access-control-allow-origin" not in r.headers
    r = requests.get(gateway.url("/health"))
    assert "access-control-allow-origin" not in r.headers


def test_cors_origins_from_config():
    s = start_service("gateway", {"CORS_ORIGINS": "https://app.example"})
    try:
        ok = requests.options(s.url("/"), headers={"Origin": "https://app.example",
                                                   "Access-Control-Request-Method": "GET"})
        assert ok.status_code == 200
        refused = requests.options(s.url("/"), headers={"Origin": ORIGIN,
                                                        "Access-Control-Request-Method": "GET"})
        assert refused.status_code == 400
    finally:
        s.stop()


# ---------------------------------------------------------------- keep-alive

def test_keep_alive_reuses_the_connection(gateway):
    conn = http.client.HTTPConnection("127.0.0.1", gateway.port)
    conn.request("GET", "/health")
    r1 = conn.getresponse()
    assert r1.status == 200
    r1.read()
    sock = conn.sock
    local = sock.getsockname()
    for _ in range(20):
        conn.request("GET", "/health")
        r = conn.getresponse()
        assert r.status == 200
        r.read()
        assert conn.sock is sock and sock.getsockname() == local
    conn.close()


# ---------------------------------------------------------------- bodies (echo server)

def test_json_body_valid_with_coercion(echo):
    r = requests.post(echo.url("/echo/json"), json={
        "name": "a", "count": "25000", "ratio": 2, "flag": "yes", "tags": ["x"],
        "meta": {"k": 1}, "note": None, "extra": "ignored"})
    assert r.status_code == 200, r.text
    assert r.text == ('{"name":"a","count":25000,"ratio":2.0,"flag":true,"tags":["x"],'
                      '"meta":{"k":1},"note":null,"keys":8}')
    r = requests.post(echo.url("/echo/json"), json={"name": "b", "count": 25000.0})
    assert r.json()["count"] == 25000


def test_malformed_json_is_422(echo):
    r = requests.post(echo.url("/echo/json"), data='{"name": ',
                      headers={"Content-Type": "application/json"})
    assert r.status_code == 422
    d = r.json()["detail"]
    assert d[0]["type"] == "json_invalid"
    assert d[0]["loc"][0] == "body" and isinstance(d[0]["loc"][1], int)
    assert d[0]["msg"] == "JSON decode error"


def test_wrong_field_types_list_every_error(echo):
    r = requests.post(echo.url("/echo/json"), json={
        "name": 5, "count": 25000.5, "ratio": "fast", "flag": "maybe", "tags": "x", "meta": []})
    assert r.status_code == 422
    errors = {tuple(e["loc"]): e for e in r.json()["detail"]}
    assert errors[("body", "name")]["type"] == "string_type"
    assert errors[("body", "count")]["type"] == "int_from_float"
    assert errors[("body", "ratio")]["type"] == "float_parsing"
    assert errors[("body", "flag")]["type"] == "bool_parsing"
    assert errors[("body", "tags")]["type"] == "list_type"
    assert errors[("body", "meta")]["type"] == "dict_type"
    assert errors[("body", "name")]["msg"] == "Input should be a valid string"
    assert errors[("body", "count")]["input"] == 25000.5
    r = requests.post(echo.url("/echo/json"), json={"name": "x", "tags": ["a", 1]})
    assert r.json()["detail"][0]["loc"] == ["body", "tags", 1]


def test_missing_field(echo):
    r = requests.post(echo.url("/echo/json"), json={"count": 1})
    assert r.status_code == 422
    e = r.json()["detail"][0]
    assert e["type"] == "missing" and e["loc"] == ["body", "name"] and e["msg"] == "Field required"


def test_unsupported_media_type_is_422(echo):
    r = requests.post(echo.url("/echo/json"), data="name=a",
                      headers={"Content-Type": "text/plain"})
    assert r.status_code == 422
    assert r.json()["detail"][0]["type"] == "model_attributes_type"
    assert "Content-Type" in r.json()["detail"][0]["msg"]
    # */*+json counts as JSON, and a body without a Content-Type is read as JSON
    r = requests.post(echo.url("/echo/json"), data='{"name":"v"}',
                      headers={"Content-Type": "application/vnd.api+json"})
    assert r.status_code == 200
    r = requests.post(echo.url("/echo/json"), data=b'{"name":"v"}',
                      headers={"Content-Type": ""})
    assert r.status_code == 200


def test_object_routes_refuse_arrays_and_any_routes_take_them(echo):
    r = requests.post(echo.url("/echo/json"), json=[1, 2])
    assert r.status_code == 422
    assert r.json()["detail"][0]["type"] == "model_attributes_type"
    r = requests.post(echo.url("/echo/any"), json=[{"a": 1}])
    assert r.status_code == 200
    assert r.json() == {"type": "array", "value": [{"a": 1}]}


def test_oversized_body_is_413(echo):
    big = b'{"name":"' + b"x" * (1 << 20) + b'"}'
    r = requests.post(echo.url("/echo/json"), data=big, headers={"Content-Type": "application/json"})
    assert r.status_code == 413
    assert "limit" in r.json()["detail"]

    def chunks():  # no Content-Length: the limit applies while reading
        yield b'{"name":"'
        for _ in range(40):
            yield b"y" * 65536
        yield b'"}'
    r = requests.post(echo.url("/echo/json"), data=chunks(), headers={"Content-Type": "application/json"})
    assert r.status_code == 413
    assert requests.get(echo.url("/health")).status_code == 200


def test_multipart_upload(echo):
    payload = os.urandom(100_000)
    r = requests.post(echo.url("/echo/form"), files={"file": ("room.jpg", payload, "image/jpeg")},
                      data={"n": "7", "note": "hé"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["filename"] == "room.jpg" and body["size"] == len(payload)
    assert body["n"] == 7 and body["note"] == "hé"
    r2 = requests.post(echo.url("/echo/form-heavy"), files={"file": ("room.jpg", payload)})
    assert r2.json()["xxh128"] == body["xxh128"]


def test_multipart_errors(echo):
    r = requests.post(echo.url("/echo/form"), data={"n": "1"})
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "file"]
    r = requests.post(echo.url("/echo/form"), files={"file": ("a", b"1")}, data={"n": "1.5"})
    assert r.status_code == 422
    assert r.json()["detail"][0]["type"] == "int_from_float"
    r = requests.post(echo.url("/echo/form"), files={"file": ("a", b"z" * 300_000)})
    assert r.status_code == 413
    assert "'file'" in r.json()["detail"]
    r = requests.post(echo.url("/echo/form"), data=b"--x\r\ngarbage",
                      headers={"Content-Type": "multipart/form-data; boundary=x"})
    assert r.status_code == 400
    assert "multipart" in r.json()["detail"]
    r = requests.post(echo.url("/echo/form"), data={"file": "just text"})  # urlencoded, no file
    assert r.status_code == 422


def test_query_and_path_parameters(echo):
    r = requests.get(echo.url("/echo/query"), params={"limit": "5", "token": "t k"})
    assert r.json() == {"limit": 5, "skip": 0, "token": "t k"}
    r = requests.get(echo.url("/echo/query"), params={"limit": "x"})
    errors = {tuple(e["loc"]): e["type"] for e in r.json()["detail"]}
    assert r.status_code == 422
    assert errors == {("query", "limit"): "int_parsing", ("query", "token"): "missing"}
    assert requests.get(echo.url("/items/a%20b")).json() == {"item_id": "a b"}
    r = requests.put(echo.url("/items/1"))
    assert r.status_code == 405 and r.headers["allow"] == "GET, DELETE"


# ---------------------------------------------------------------- worker pool, limits, shutdown

def test_full_queue_answers_503_with_retry_after():
    s = start_echo({"HTTP_WORKERS": "1", "HTTP_QUEUE": "1"})
    try:
        results = []

        def call():
            results.append(requests.post(s.url("/slow?ms=700")))
        threads = [threading.Thread(target=call) for _ in range(5)]
        for t in threads:
            t.start()
            time.sleep(0.05)
        for t in threads:
            t.join()
        codes = sorted(r.status_code for r in results)
        assert codes.count(200) == 2, codes  # one running, one queued
        assert codes.count(503) == 3, codes
        busy = [r for r in results if r.status_code == 503][0]
        assert busy.headers["retry-after"] == "1"
        assert "busy" in busy.json()["detail"]
    finally:
        s.stop()


def test_uploads_held_by_waiting_requests_are_bounded():
    """HTTP_QUEUE_BYTES bounds the bodies that admitted heavy requests hold: one that would
    go past it is turned away naming the setting, a smaller one still fits, and with
    nothing held any body within HTTP_MAX_BODY is served."""
    s = start_echo({"HTTP_WORKERS": "1", "HTTP_QUEUE": "8", "HTTP_QUEUE_BYTES": "100000"})
    try:
        first = {}
        t = threading.Thread(target=lambda: first.update(
            r=requests.post(s.url("/slow?ms=800"), data=b"x" * 80000)))
        t.start()
        time.sleep(0.2)
        r = requests.post(s.url("/slow?ms=10"), data=b"y" * 40000)
        assert r.status_code == 503, r.text
        assert r.headers["retry-after"] == "1"
        assert "HTTP_QUEUE_BYTES" in r.json()["detail"] and "busy" in r.json()["detail"]
        assert requests.post(s.url("/slow?ms=10"), data=b"z" * 10000).status_code == 200
        t.join()
        assert first["r"].status_code == 200
        # nothing held now: a body larger than the bound alone is served
        assert requests.post(s.url("/slow?ms=10"), data=b"w" * 150000).status_code == 200
    finally:
        s.stop()


def test_request_time_limit_is_504(echo):
    r = requests.post(echo.url("/slow-limited?ms=1500"))
    assert r.status_code == 504
    assert "limit" in r.json()["detail"]
    assert requests.post(echo.url("/slow-limited?ms=10")).status_code == 200


def test_graceful_shutdown_finishes_in_flight_request():
    s = start_echo()
    out = {}

    def call():
        out["r"] = requests.post(s.url("/slow?ms=1500"))
    t = threading.Thread(target=call)
    t.start()
    time.sleep(0.3)
    s.proc.send_signal(15)
    time.sleep(0.3)
    # no new connections once draining
    try:
        refused = requests.get(s.url("/health"), timeout=2).status_code != 200
    except requests.ConnectionError:
        refused = True
    assert refused
    t.join()
    assert out["r"].status_code == 200 and out["r"].json() == {"slept_ms": 1500}
    assert s.proc.wait(timeout=10) == 0
    assert "shutting down" in s.logs()
    s.stop()


def test_bad_configuration_is_refused_naming_the_variable():
    import subprocess
    from harness import artistry_bin
    p = subprocess.run([artistry_bin(), "serve", "gateway", "--port", "1"],
                       env={**os.environ, "HTTP_WORKERS": "lots", "ARTISTRY_CONFIG_DIR": "/nonexistent"},
                       capture_output=True, text=True, timeout=10)
    assert p.returncode == 1
    assert "HTTP_WORKERS: 'lots' is not an integer" in p.stderr
