"""Gateway commerce proxies against a stub commerce service (CONTRACT.md §4.9–4.12)."""
import json
import os
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from harness import artistry_bin, free_port, start_service

seen = []


class Commerce(BaseHTTPRequestHandler):
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
        n = int(self.headers.get("Content-Length", 0))
        body = json.loads(self.rfile.read(n) or b"null")
        seen.append(("POST", self.path, body))
        if self.path == "/commerce/match-products" and body.get("item_type") == "bad":
            return self.answer(422, {"detail": [{"type": "missing", "loc": ["body", "x"]}]})
        if body == {"explode": True}:
            return self.answer(500, {"detail": "boom"})
        self.answer(200, {"path": self.path, "got": body})

    def do_GET(self):
        seen.append(("GET", self.path, None))
        self.answer(200, {"path": self.path})


@pytest.fixture(scope="module")
def stack():
    port = free_port()
    srv = ThreadingHTTPServer(("127.0.0.1", port), Commerce)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    gw = start_service("gateway", {"COMMERCE_URL": f"http://127.0.0.1:{port}/ignored/path/"})
    yield gw
    gw.stop()
    srv.shutdown()


def test_match_products_passes_through(stack):
    r = requests.post(stack.url("/commerce/match-products"), json={"item_type": "bed", "budget": "₹"})
    assert r.status_code == 200
    assert r.json() == {"path": "/commerce/match-products", "got": {"item_type": "bed", "budget": "₹"}}


def test_upstream_4xx_is_kept_5xx_becomes_502(stack):
    r = requests.post(stack.url("/commerce/match-products"), json={"item_type": "bad"})
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "x"]
    r = requests.post(stack.url("/commerce/generate-affiliate-links"), json={"explode": True})
    assert r.status_code == 502
    assert r.json()["detail"].startswith("Commerce service error")


def test_batch_match_takes_an_array(stack):
    items = [{"item_type": "bed"}, {"item_type": "lamp"}]
    r = requests.post(stack.url("/commerce/batch-match"), json=items)
    assert r.status_code == 200
    assert r.json()["got"] == items


def test_proxies_demand_json_objects(stack):
    r = requests.post(stack.url("/commerce/match-products"), json=[1])
    assert r.status_code == 422


def test_products_encodes_category_and_budget(stack):
    r = requests.get(stack.url("/commerce/products/dining table"), params={"budget": "low&x=1"})
    assert r.status_code == 200
    assert r.json() == {"path": "/commerce/products/dining%20table?budget=low%26x%3D1"}


def test_unreachable_commerce_is_502_naming_it():
    gw = start_service("gateway", {"COMMERCE_URL": f"http://127.0.0.1:{free_port()}"})
    try:
        r = requests.post(gw.url("/commerce/match-products"), json={"item_type": "bed"})
        assert r.status_code == 502
        assert "Commerce service error: cannot reach http://127.0.0.1:" in r.json()["detail"]
    finally:
        gw.stop()


def test_bad_upstream_url_refuses_to_start():
    p = subprocess.run([artistry_bin(), "serve", "gateway", "--port", str(free_port())],
                       env={**os.environ, "DETECT_URL": "detect:8001", "ARTISTRY_CONFIG_DIR": "/x"},
                       capture_output=True, text=True, timeout=10)
    assert p.returncode == 1
    assert "DETECT_URL: 'detect:8001' is not an http:// or https:// URL" in p.stderr
