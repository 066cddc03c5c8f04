"""The commerce service over HTTP (CONTRACT §9): the goldens (listings on the original's
eight products, affiliate links on both catalogs), ranking, imports and bad input."""
import csv
import json
import os
import subprocess
import sys

import pytest
import requests

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import goldens  # noqa: E402
from harness import artistry_bin, start_service  # noqa: E402

KB = os.path.join(goldens.ROOT, "data")


def original_catalog(tmp_path_factory):
    """The original's eight products, in its order, from the recorded listings."""
    recs = goldens.load()
    products = []
    for cat in ("bed", "curtains", "chair", "wardrobe"):
        r = next(r for r in recs if r["path"] == f"/commerce/products/{cat}" and r["query"] is None)
        products += r["response"]["products"]
    assert len(products) == 8
    p = tmp_path_factory.mktemp("orig") / "original.json"
    p.write_text(json.dumps(products))
    return str(p)


@pytest.fixture(scope="module")
def original(tmp_path_factory):
    s = start_service("commerce", {"ARTISTRY_KB_DIR": KB, "COMMERCE_CATALOG": original_catalog(tmp_path_factory),
                                   "ARTISTRY_DATA_DIR": str(tmp_path_factory.mktemp("var"))})
    yield s
    assert s.stop() == 0


@pytest.fixture(scope="module")
def shipped(tmp_path_factory):
    s = start_service("commerce", {"ARTISTRY_KB_DIR": KB, "ARTISTRY_DATA_DIR": str(tmp_path_factory.mktemp("var"))})
    yield s
    assert s.stop() == 0


def call(svc, r):
    if r["method"] == "GET":
        return requests.get(svc.url(r["path"]), params=r["query"])
    return requests.post(svc.url(r["path"]), json=r["request"])


def test_every_commerce_golden(original, shipped):
    recs = [r for r in goldens.load() if r["service"] == "commerce"]
    assert len(recs) == 26
    failures, checks = [], 0
    for r in recs:
        for svc in ([original, shipped] if "affiliate" in r["path"] else [original]):
            checks += 1
            resp = call(svc, r)
            m = goldens.mismatch(r["path"], r["response"], resp.json()) if resp.status_code == r["status"] \
                else f"status {resp.status_code}"
            if m:
                failures.append((r["path"], r.get("query"), m))
    print(f"commerce goldens over HTTP: {checks - len(failures)}/{checks} checks match")
    assert not failures, failures[:5]


def test_health_counts_products(shipped, original):
    assert requests.get(shipped.url("/health")).json() == {"status": "ok", "service": "Commerce", "products": 73}
    assert requests.get(original.url("/")).json()["products"] == 8


def match(svc, **q):
    body = {"item_type": "bed", "style": "modern", "material": "fabric", "color": "beige", "budget": "medium"}
    body.update(q)
    r = requests.post(svc.url("/commerce/match-products"), json=body)
    assert r.status_code == 200, r.text
    return r.json()


def test_ranking_beige_fabric_bed(shipped):
    j = match(shipped)
    ids = [m["product_id"] for m in j["matches"]]
    assert ids[0] == "bed_001", ids
    assert j["total_matches"] == len(ids) <= 3
    scores = [m["match_score"] for m in j["matches"]]
    assert scores == sorted(scores, reverse=True) and all(0 <= s <= 1 for s in scores)
    assert j["query"] == {"item_type": "bed", "style": "modern", "material": "fabric", "color": "beige", "budget": "medium"}


def test_unknown_category_and_budget(shipped):
    assert match(shipped, item_type="spaceship")["matches"] == []
    assert len(match(shipped, budget="galactic")["matches"]) == 3


def test_batch_takes_the_array(shipped):
    body = [{"item_type": "bed", "style": "", "material": "", "color": "", "budget": "low"},
            {"item_type": "sofa", "style": "", "material": "leather", "color": "black", "budget": "high"}]
    j = requests.post(shipped.url("/commerce/batch-match"), json=body).json()
    assert list(j) == ["items", "total_items"] and j["total_items"] == 2
    assert j["items"]["sofa"][0]["product_id"] == "sofa_006"
    r = requests.post(shipped.url("/commerce/batch-match"), json=body[0])
    assert r.status_code == 422
    r = requests.post(shipped.url("/commerce/batch-match"), json=body * 5000)
    assert r.status_code == 413
    assert requests.post(shipped.url("/commerce/batch-match"), json=[]).json() == {"items": {}, "total_items": 0}


BAD = [
    ("/commerce/match-products", {"item_type": "bed"}, 422),
    ("/commerce/match-products", {"item_type": 1, "style": "", "material": "", "color": "", "budget": ""}, 422),
    ("/commerce/generate-affiliate-links", {"items": "bed_001", "session_id": "s"}, 422),
    ("/commerce/generate-affiliate-links", {"items": [{"product_id": "bed_001", "quantity": -1}], "session_id": "s"}, 422),
    ("/commerce/generate-affiliate-links", {"items": [{}], "session_id": "s"}, 422),
    ("/commerce/generate-affiliate-links", {"items": []}, 422),
]


@pytest.mark.parametrize("path,body,status", BAD)
def test_bad_input_is_a_clear_4xx(shipped, path, body, status):
    r = requests.post(shipped.url(path), json=body)
    assert r.status_code == status, r.text
    assert r.json()["detail"]


def test_malformed_json_and_session_encoding(shipped):
    r = requests.post(shipped.url("/commerce/match-products"), data=b"{", headers={"Content-Type": "application/json"})
    assert r.status_code == 422
    j = requests.post(shipped.url("/commerce/generate-affiliate-links"),
                      json={"items": [{"product_id": "bed_003"}], "session_id": "a b&c"}).json()
    assert j["affiliate_links"][0]["affiliate_url"].endswith("session=a%20b%26c")
    assert requests.get(shipped.url("/commerce/products/nothing")).json() == \
        {"category": "nothing", "budget": None, "products": [], "count": 0}


def write_products_csv(path, n):
    fields = ["id", "name", "category", "style", "material", "color", "price", "budget_tier",
              "vendor", "url", "image_url", "affiliate", "description", "price_inr"]
    cats = ["bed", "sofa", "chair", "table", "rug", "lighting", "wardrobe", "curtains"]
    colors = ["beige", "grey", "walnut brown", "white", "black", "sage green", "navy blue", "cream"]
    mats = ["fabric upholstery", "solid wood", "engineered wood", "velvet", "leather", "linen blend", "metal"]
    styles = ["modern", "minimalist", "scandinavian", "industrial", "luxury", "bohemian", "traditional"]
    tiers = ["low", "medium", "high"]
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(fields)
        for i in range(n):
            c = cats[i % len(cats)]
            usd = 20 + (i * 37) % 2000
            w.writerow([f"imp_{i:05d}", f"{styles[i % 7].title()} {c} {i}", c, styles[i % 7], mats[i % 7],
                        colors[(i // 3) % 8], f"${usd:,}", tiers[i % 3], "Amazon",
                        f"https://amazon.com/product/imp_{i:05d}", "", "true",
                        f"A {colors[(i // 3) % 8]} {mats[i % 7]} {c} in a {styles[i % 7]} style", usd * 83])


def test_import_10000_products(tmp_path):
    var = tmp_path / "var"
    src = tmp_path / "big.csv"
    write_products_csv(src, 10000)
    env = dict(os.environ, ARTISTRY_DATA_DIR=str(var), ARTISTRY_KB_DIR=KB, ARTISTRY_CONFIG_DIR="/nonexistent")
    out = subprocess.run([artistry_bin(), "catalog", "import", str(src)], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "imported 10000 products" in out.stdout
    out = subprocess.run([artistry_bin(), "catalog", "count"], env=env, capture_output=True, text=True)
    assert out.stdout.strip() == "10073"
    bad = tmp_path / "bad.csv"
    bad.write_text("id,name,category,price,budget_tier\nx,Chair,chair,$5,cheap\n")
    out = subprocess.run([artistry_bin(), "catalog", "import", str(bad)], env=env, capture_output=True, text=True)
    assert out.returncode == 1 and "budget_tier: 'cheap'" in out.stderr
    s = start_service("commerce", {"ARTISTRY_DATA_DIR": str(var), "ARTISTRY_KB_DIR": KB})
    try:
        assert requests.get(s.url("/health")).json()["products"] == 10073
        j = match(s, item_type="sofa", material="velvet", color="sage green", style="luxury", budget="medium")
        assert len(j["matches"]) == 3
    finally:
        assert s.stop() == 0


def test_path_and_query_that_are_not_utf8(shipped):
    r = requests.get(shipped.url("/commerce/products/%ff") + "?budget=%fe")
    assert r.status_code == 200
    assert r.json() == {"category": "\ufffd", "budget": "\ufffd", "products": [], "count": 0}


def test_ranking_with_sentence_embeddings(tmp_path):
    """COMMERCE_EMBED_MODEL with the tiny random-weight BERT of make_lm_fixtures.py: the
    wiring (embeddings computed at start, kept in the store, used in match_score)."""
    fx = tmp_path / "fx"
    subprocess.run([sys.executable, os.path.join(goldens.ROOT, "tests", "text", "make_lm_fixtures.py"),
                    str(fx)], check=True, capture_output=True)
    env = {"ARTISTRY_KB_DIR": KB, "ARTISTRY_DATA_DIR": str(tmp_path / "var"),
           "COMMERCE_EMBED_MODEL": str(fx / "bert-tiny.onnx")}
    s = start_service("commerce", env)
    try:
        line = next(l for l in s.logs().splitlines() if "product embeddings ready" in l)
        assert "products=73" in line
        j = match(s)
        assert len(j["matches"]) == 3 and all(0 <= m["match_score"] <= 1 for m in j["matches"])
        assert all(m["product_id"].startswith("bed_") for m in j["matches"])
    finally:
        assert s.stop() == 0
    s = start_service("commerce", env)  # a restart reads the stored embeddings back
    try:
        assert match(s)["matches"] == j["matches"]
    finally:
        assert s.stop() == 0
