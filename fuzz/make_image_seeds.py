#!/usr/bin/python3
"""Writes the seed corpus of the image fuzz targets (fuzz/corpus/image_decode/): tiny
valid JPEG, PNG and WebP files covering the decoders' paths — baseline, progressive, grey
and EXIF-oriented JPEG; RGB, palette, 16-bit, grey+alpha, interlaced PNG, one with eXIf;
lossy, lossless, alpha and EXIF WebP. Run once by hand (Debian python3-pil); the seeds
are committed, the same ones for image_probe (fuzz/corpus/image_probe/)."""
import io
import os

from PIL import Image

here = os.path.dirname(os.path.abspath(__file__))
outs = [os.path.join(here, "corpus", t) for t in ("image_decode", "image_probe")]
for o in outs:
    os.makedirs(o, exist_ok=True)


def picture(w, h, mode="RGB"):
    im = Image.new("RGB", (w, h))
    im.putdata([((x * 37) % 256, (y * 53) % 256, ((x + y) * 19) % 256)
                for y in range(h) for x in range(w)])
    return im.convert(mode)


def exif(orientation):
    e = Image.Exif()
    e[0x0112] = orientation
    return e.tobytes()


def save(name, im, fmt, **kw):
    b = io.BytesIO()
    im.save(b, format=fmt, **kw)
    for o in outs:
        with open(os.path.join(o, name), "wb") as f:
            f.write(b.getvalue())


save("baseline.jpg", picture(16, 16), "JPEG", quality=80)
save("progressive.jpg", picture(24, 16), "JPEG", quality=80, progressive=True)
save("grey.jpg", picture(16, 8, "L"), "JPEG", quality=80)
save("exif6.jpg", picture(16, 8), "JPEG", quality=80, exif=exif(6))
save("exif8-444.jpg", picture(8, 16), "JPEG", quality=90, exif=exif(8), subsampling=0)
save("rgb.png", picture(8, 8), "PNG")
save("palette.png", picture(8, 8, "P"), "PNG")
save("grey16.png", picture(8, 4, "L").convert("I;16"), "PNG")
save("grey-alpha.png", picture(4, 4, "LA"), "PNG")
save("interlaced.png", picture(9, 9), "PNG", interlace=1)
save("exif3.png", picture(8, 4), "PNG", exif=exif(3))
save("lossy.webp", picture(16, 16), "WEBP", quality=70)
save("lossless.webp", picture(8, 8), "WEBP", lossless=True)
save("alpha.webp", picture(8, 8, "RGBA"), "WEBP", quality=70)
save("exif6.webp", picture(16, 8), "WEBP", quality=70, exif=exif(6))
