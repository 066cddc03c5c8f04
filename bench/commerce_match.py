#!/usr/bin/env python3
"""match-products latency with 10,000 imported products, end to end over HTTP.

Imports 10,000 generated products (plus the 73 shipped) with `artistry catalog import`
into the store (SQLite), starts commerce on it and, side by side, a commerce with the
same products in memory (COMMERCE_STORE=memory, loading the CSV as its shipped catalog),
and times POST /commerce/match-products on one keep-alive connection each, alternating:
a typical query (category + tier: ~420 candidates) and a tier the catalog lacks (the
whole category: ~1,250 candidates). Prints p50/p90/p99 per store and query kind.
Usage: bench/commerce_match.py [BUILD_DIR] [REQUESTS]   (default build, 500)"""
import os
import statistics
import subprocess
import sys
import tempfile
import time

import requests

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))
sys.path.insert(0, os.path.join(ROOT, "tests", "commerce"))
from harness import Server, free_port  # noqa: E402
from test_commerce import write_products_csv  # noqa: E402

build = sys.argv[1] if len(sys.argv) > 1 else "build"
n = int(sys.argv[2]) if len(sys.argv) > 2 else 500
binary = os.path.join(ROOT, build, "artistry")
with tempfile.TemporaryDirectory() as tmp:
    env = dict(os.environ, ARTISTRY_DATA_DIR=os.path.join(tmp, "var"),
               ARTISTRY_KB_DIR=os.path.join(ROOT, "data"), ARTISTRY_CONFIG_DIR="/nonexistent",
               ACCESS_LOG="false")
    csv_path = os.path.join(tmp, "products.csv")
    write_products_csv(csv_path, 10000)
    subprocess.run([binary, "catalog", "import", csv_path], env=env, check=True, capture_output=True)
    servers = {}
    port = free_port()
    servers["sqlite"] = Server([binary, "serve", "commerce", "--port", str(port)], port, env)
    port = free_port()
    mem_env = dict(env, COMMERCE_STORE="memory", COMMERCE_CATALOG=csv_path)
    servers["memory"] = Server([binary, "serve", "commerce", "--port", str(port)], port, mem_env)
    try:
        sessions = {k: requests.Session() for k in servers}
        for k, s in servers.items():
            print(f"{k}: products", sessions[k].get(s.url("/health")).json()["products"])
        kinds = {
            "category+tier": {"item_type": "sofa", "style": "luxury", "material": "velvet",
                              "color": "sage green", "budget": "medium"},
            "whole category": {"item_type": "bed", "style": "modern", "material": "fabric",
                               "color": "beige", "budget": "premium"},
        }
        for name, body in kinds.items():
            times = {k: [] for k in servers}
            for i in range(n + 20):
                for k, s in servers.items():
                    t0 = time.perf_counter()
                    r = sessions[k].post(s.url("/commerce/match-products"), json=body)
                    dt = (time.perf_counter() - t0) * 1e3
                    assert r.status_code == 200 and len(r.json()["matches"]) == 3
                    if i >= 20:
                        times[k].append(dt)
            for k, t in times.items():
                t.sort()
                print(f"{k:7s} {name:15s} n={n} p50={statistics.median(t):.2f} ms "
                      f"p90={t[int(n * 0.9)]:.2f} ms p99={t[int(n * 0.99)]:.2f} ms")
    finally:
        for s in servers.values():
            s.stop()
