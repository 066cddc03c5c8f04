#!/usr/bin/python3
"""The reference for bench/image.sh: the same steps as bench_image, done the way the
original Python services did them (Pillow decode, Ultralytics' LetterBox on OpenCV,
SAM's ResizeLongestSide on Pillow, numpy tensors, Pillow encode, OpenCV Canny). Needs
python3-pil, python3-numpy and python3-opencv; steps whose library is missing are left
out. Prints the same tab-separated lines as bench_image."""
import io
import os
import sys
import time

import numpy as np
from PIL import Image

try:
    import cv2
except ImportError:
    cv2 = None

iters = int(sys.argv[1]) if len(sys.argv) > 1 else 30
photos = os.path.join(os.environ.get("ARTISTRY_SHARED", "../shared"), "data", "photos")


def measure(name, fn):
    for _ in range(3):
        fn()
    t = []
    for _ in range(iters):
        t0 = time.perf_counter_ns()
        fn()
        t.append((time.perf_counter_ns() - t0) * 1e-6)
    t.sort()
    print(f"{name}\t{t[iters // 2]:.3f}\t{t[(iters * 9) // 10]:.3f}", flush=True)


def decode(data):
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def letterbox(im, new=(640, 640)):
    shape = im.shape[:2]
    r = min(new[0] / shape[0], new[1] / shape[1])
    unpad = int(round(shape[1] * r)), int(round(shape[0] * r))
    dw, dh = (new[1] - unpad[0]) / 2, (new[0] - unpad[1]) / 2
    if shape[::-1] != unpad:
        im = cv2.resize(im, unpad, interpolation=cv2.INTER_LINEAR)
    top, bottom = int(round(dh - 0.1)), int(round(dh + 0.1))
    left, right = int(round(dw - 0.1)), int(round(dw + 0.1))
    return cv2.copyMakeBorder(im, top, bottom, left, right, cv2.BORDER_CONSTANT,
                              value=(114, 114, 114))


def tensor(lb):
    return np.ascontiguousarray(lb.transpose(2, 0, 1)[None]).astype(np.float32) / 255.0


MEAN = np.array([123.675, 116.28, 103.53], np.float32)
STD = np.array([58.395, 57.12, 57.375], np.float32)


def sam_pre(data):
    im = Image.open(io.BytesIO(data)).convert("RGB")
    s = 1024 / max(im.size)
    r = np.asarray(im.resize((int(im.size[0] * s + 0.5), int(im.size[1] * s + 0.5)),
                             Image.BILINEAR))
    x = (r.astype(np.float32) - MEAN) / STD
    out = np.zeros((3, 1024, 1024), np.float32)
    out[:, :x.shape[0], :x.shape[1]] = x.transpose(2, 0, 1)
    return out


def encode(im, fmt, **kw):
    b = io.BytesIO()
    Image.fromarray(im).save(b, format=fmt, **kw)
    return b.getvalue()


def canny(im):
    g = cv2.cvtColor(im, cv2.COLOR_RGB2GRAY)
    e = cv2.Canny(g, 50, 150)
    return cv2.dilate(e, np.ones((3, 3), np.uint8), iterations=1)


def bench_photo(name, all_steps):
    data = open(os.path.join(photos, name), "rb").read()
    rgb = decode(data)
    measure(f"decode:{name}", lambda: decode(data))
    if cv2:
        measure(f"letterbox640:{name}", lambda: letterbox(rgb))
        measure(f"letterbox640+tensor:{name}", lambda: tensor(letterbox(rgb)))
        measure(f"detect_pre:{name}", lambda: tensor(letterbox(decode(data))))
    if all_steps:
        measure(f"sam_pre:{name}", lambda: sam_pre(data))
        measure(f"encode_jpeg85:{name}", lambda: encode(rgb, "JPEG", quality=85, optimize=True))
        # PIL's fastest (level 1) next to our fast profile; its default (6) next to ours.
        measure(f"encode_png_fast:{name}", lambda: encode(rgb, "PNG", compress_level=1))
        measure(f"encode_png_level6:{name}", lambda: encode(rgb, "PNG"))
        if cv2:
            measure(f"canny+dilate:{name}", lambda: canny(rgb))


for name, all_steps in (("bedroom-wardrobe.webp", True), ("bedroom-chevron-curtains.jpg", True),
                        ("dog-bicycle-truck.jpg", False), ("person-dog-horse.jpg", False),
                        ("bedroom-render.png", False)):
    bench_photo(name, all_steps)
