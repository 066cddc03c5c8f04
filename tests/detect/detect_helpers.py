"""Shared by the detect tests: where the shared models and photos are, and small readers of
image headers (so the tests need no imaging library)."""
import os
import pathlib
import struct
import time
import zlib

import requests

REPO = pathlib.Path(__file__).resolve().parents[2]
SHARED = pathlib.Path(os.environ.get("ARTISTRY_SHARED", REPO.parent / "shared"))
MODELS = SHARED / "models"
PHOTOS = SHARED / "data" / "photos"

# The photos' sizes as the shared data README lists them (none carries an EXIF rotation).
PHOTO_SIZES = {
    "dog-bicycle-truck.jpg": (768, 576),
    "person-dog-horse.jpg": (640, 424),
    "bedroom-chevron-curtains.jpg": (736, 1245),
    "bedroom-wardrobe.webp": (1500, 1125),
    "bedroom-render.png": (1536, 1024),
}
BEDROOMS = ["bedroom-chevron-curtains.jpg", "bedroom-wardrobe.webp", "bedroom-render.png"]


def photo(name):
    return (PHOTOS / name).read_bytes()


def jpeg_size(data):
    """(width, height) from a JPEG's first SOF marker."""
    assert data[:2] == b"\xff\xd8", "not a JPEG"
    i = 2
    while i + 4 <= len(data):
        assert data[i] == 0xFF, f"bad marker at {i}"
        marker = data[i + 1]
        seglen = struct.unpack(">H", data[i + 2:i + 4])[0]
        if marker in (0xC0, 0xC1, 0xC2):
            h, w = struct.unpack(">HH", data[i + 5:i + 9])
            return w, h
        i += 2 + seglen
    raise AssertionError("no SOF marker")


def png_chunk(kind, body):
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_header_only(w, h):
    """A PNG that declares w x h and holds one empty IDAT: enough for header checks."""
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) +
            png_chunk(b"IDAT", zlib.compress(b"")) + png_chunk(b"IEND", b""))


def wait_ready(svc, timeout=600):
    """Waits until the service's background preload has loaded the model or given up;
    returns /health."""
    deadline = time.time() + timeout
    while True:
        h = requests.get(svc.url("/health"), timeout=5).json()
        if h["loaded"] or h["error"] or time.time() > deadline:
            return h
        time.sleep(0.05)


def start_detect(env):
    """`artistry serve detect` with env, its model loaded (or failed)."""
    from harness import start_service
    s = start_service("detect", env)
    wait_ready(s)
    return s


def stop_checked(svc):
    """Stops the service and checks it ended cleanly: exit status 0 after SIGTERM, and no
    sanitizer report (the ASan build reports leaks and errors at exit)."""
    rc = svc.stop()
    with open(svc.log_path, "rb") as f:
        logs = f.read().decode(errors="replace")
    assert "Sanitizer" not in logs, logs[-4000:]
    assert rc == 0, f"exit status {rc}: {logs[-2000:]}"
