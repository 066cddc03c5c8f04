"""50 clients signing up, saving and sharing at once lose no write, and the counters are
exact afterwards. Signup and login hash on the gateway's worker pool; beyond its queue the
gateway answers 503 with Retry-After, which these clients honour as any should."""
import concurrent.futures
import time
import uuid

import requests

from store_stack import Stack

CLIENTS = 50


def call(method, url, **kw):
    """One request, retried while the gateway says it is busy (503 + Retry-After)."""
    busy = 0
    while True:
        r = requests.request(method, url, timeout=60, **kw)
        if r.status_code != 503 or "retry-after" not in r.headers:
            return r, busy
        busy += 1
        time.sleep(float(r.headers["retry-after"]) / 10)


def test_fifty_clients():
    s = Stack()
    try:
        shared = requests.post(s.url("/designs/save"), json={
            "user_id": "guest", "original_image_b64": "o", "generated_image_b64": "g", "detected_objects": [],
            "budget": "low", "design_tips": "shared", "total_cost_inr": 0}).json()["design_id"]

        def client(i):
            em = f"c{i}_{uuid.uuid4().hex[:6]}@example.com"
            r, busy = call("POST", s.url("/auth/signup"), json={"email": em, "password": "a password", "name": f"C{i}"})
            assert r.status_code == 200, r.text
            uid, auth = r.json()["user_id"], {"Authorization": f"Bearer {r.json()['token']}"}
            mine = []
            for k in range(2):
                r, _ = call("POST", s.url("/designs/save"), headers=auth, json={
                    "user_id": uid, "original_image_b64": f"orig-{i}-{k}", "generated_image_b64": "same",
                    "detected_objects": [i, k], "budget": "medium", "design_tips": "t", "total_cost_inr": i})
                assert r.status_code == 200, r.text
                mine.append(r.json()["design_id"])
            r, _ = call("POST", s.url("/designs/share"), json={"design_id": shared, "platform": "link"})
            assert r.status_code == 200
            r, _ = call("GET", s.url(f"/designs/share/{shared}"))
            assert r.status_code == 200
            r, _ = call("POST", s.url("/designs/share"), json={"design_id": mine[0], "platform": "whatsapp"})
            assert r.status_code == 200
            r, _ = call("GET", s.url(f"/designs/user/{uid}"), headers=auth)
            listed = [d["_id"] for d in r.json()["designs"]]
            assert sorted(listed) == sorted(mine) and r.json()["total_count"] == 2
            return busy

        with concurrent.futures.ThreadPoolExecutor(CLIENTS) as pool:
            busy = sum(pool.map(client, range(CLIENTS)))
        print(f"\n{CLIENTS} clients: {busy} signups answered 503 busy first and were retried")
        body = requests.get(s.url(f"/designs/share/{shared}")).json()
        assert (body["views"], body["shares"]) == (CLIENTS, CLIENTS)
        assert s.sql("SELECT count(*) FROM users") == [[str(CLIENTS)]]
        assert s.sql("SELECT count(*) FROM designs") == [[str(2 * CLIENTS + 1)]]
        assert s.sql("SELECT count(*) FROM designs WHERE shares = 1") == [[str(CLIENTS)]]
        assert s.sql("SELECT sum(designs_count) FROM users") == [[str(2 * CLIENTS)]]
        assert s.sql("SELECT refs FROM blobs WHERE hash = (SELECT generated_blob FROM designs"
                     f" WHERE id = '{shared}')") == [["1"]]
    finally:
        s.close()
