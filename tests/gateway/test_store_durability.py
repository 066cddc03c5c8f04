"""kill -9 of the gateway in the middle of a stream of saves, then a restart: the database
opens, every acknowledged save is there with its images, nothing is half-written."""
import base64
import os
import threading
import time

import requests

from store_stack import Stack

CONSISTENT = {
    # designs pointing at images that are not there
    "dangling": "SELECT count(*) FROM designs d WHERE"
                " (d.original_blob IS NOT NULL AND NOT EXISTS (SELECT 1 FROM blobs b WHERE b.hash = d.original_blob))"
                " OR (d.generated_blob IS NOT NULL AND NOT EXISTS (SELECT 1 FROM blobs b WHERE b.hash = d.generated_blob))",
    # images whose reference count disagrees with the designs that use them
    "miscounted": "SELECT count(*) FROM blobs b WHERE b.refs <>"
                  " (SELECT count(*) FROM designs d WHERE d.original_blob = b.hash)"
                  " + (SELECT count(*) FROM designs d WHERE d.generated_blob = b.hash)"
                  " + (SELECT count(*) FROM designs d WHERE d.segmented_blob = b.hash)",
    # owners whose design count disagrees with their designs
    "owners": "SELECT count(*) FROM users u WHERE u.designs_count <>"
              " (SELECT count(*) FROM designs d WHERE d.user_id = u.id)",
}


def stream(s, auth, acked, stop):
    session = requests.Session()
    while not stop.is_set():
        img = base64.b64encode(os.urandom(20000)).decode()
        try:
            r = session.post(s.url("/designs/save"), headers=auth, timeout=10, json={
                "user_id": "x", "original_image_b64": img, "generated_image_b64": "data:image/png;base64," + img,
                "detected_objects": ["bed"], "budget": "low", "design_tips": "t", "total_cost_inr": 1})
        except requests.RequestException:
            return
        if r.status_code == 200:
            acked.append((r.json()["design_id"], img))


def test_kill_during_saves():
    s = Stack()
    try:
        r = requests.post(s.url("/auth/signup"), json={"email": "d@example.com", "password": "a password", "name": "D"})
        auth = {"Authorization": f"Bearer {r.json()['token']}"}
        acked = []
        for round_ in range(2):
            stop = threading.Event()
            writers = [threading.Thread(target=stream, args=(s, auth, acked, stop)) for _ in range(4)]
            for w in writers:
                w.start()
            time.sleep(1.5)
            s.server.proc.kill()  # SIGKILL in the middle of the stream
            s.server.proc.wait()
            stop.set()
            for w in writers:
                w.join()
            s.restart()
            assert len(acked) > 20, f"round {round_}: only {len(acked)} saves before the kill"
            for did, img in acked:
                r = requests.get(s.url(f"/designs/share/{did}"))
                assert r.status_code == 200, did
                assert r.json()["original_image"] == img
                assert r.json()["generated_image"] == "data:image/png;base64," + img
            for what, q in CONSISTENT.items():
                assert s.sql(q) == [["0"]], what
        if s.sqlite_path:
            assert s.sql("PRAGMA integrity_check") == [["ok"]]
        print(f"\n{len(acked)} acknowledged saves over two kills, all present")
    finally:
        s.close()
