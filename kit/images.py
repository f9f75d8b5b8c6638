"""Images a notebook may show once sanitized (kit/sanitize.py): PNG or JPEG only, checked
from their bytes (magic number, size, pixel count read from the header without decoding
a pixel), re-encoded; anything else is no image the grader keeps."""
import base64
import binascii
import re
import struct

# A CIFAR-10 weight plot is ~0.1 MiB of PNG.
MAX_IMAGE_BYTES = 2 << 20           # one decoded PNG/JPEG (output or attachment)
# Pixels of one image, read from its header: a PNG of 100 KB can decode to 24000x24000
# pixels (2.3 GB in the browser that renders it). Measured with matplotlib as the
# inline backend saves (bbox "tight"): the notebooks' 10x8-inch default figure is 825x659
# pixels at 100 dpi and 2040x1640 (3.3 million) at "retina" 200 dpi; utils/vis_utils.py's
# weight grid 870x477, its CIFAR-10 sample grid 795x578. 4,000,000 keeps them all and
# stops anything that needs more than 16 MB to draw.
MAX_IMAGE_PIXELS = 4_000_000
MAX_JPEG_SEGMENTS = 256             # before the frame header; real files have a dozen
IMAGE_MAGIC = {"image/png": b"\x89PNG\r\n\x1a\n", "image/jpeg": b"\xff\xd8\xff"}


def field_text(value):
    """Text of a notebook field: a string, or a list of strings (multi-line JSON form)."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "".join(x for x in value if isinstance(x, str))
    return ""


def checked_image(mime, value):
    """(the base64 payload re-encoded, None) when it decodes to a `mime` image within
    MAX_IMAGE_BYTES, else (None, why in the kit's words, or None when it is no image at all)."""
    text = field_text(value)
    if len(text) > MAX_IMAGE_BYTES * 4 // 3 + 1024:
        return None, None
    try:
        raw = base64.b64decode(re.sub(r"\s+", "", text), validate=True)
    except (binascii.Error, ValueError):
        return None, None
    if len(raw) > MAX_IMAGE_BYTES or not raw.startswith(IMAGE_MAGIC[mime]):
        return None, None
    size = image_size(mime, raw)
    if size is None:
        return None, None
    width, height = size
    if width * height > MAX_IMAGE_PIXELS:
        return None, (f"image left out: {width}x{height} pixels, over the "
                      f"{MAX_IMAGE_PIXELS:,}-pixel limit")
    return base64.b64encode(raw).decode("ascii"), None


def image_size(mime, raw):
    """(width, height) from a PNG's or JPEG's header, without decoding a pixel; None when the
    header is missing, truncated or malformed (then it is not an image the sanitizer keeps).

    Inputs: mime, "image/png" or "image/jpeg"; raw, the file's bytes.
    """
    if mime == "image/png":
        # Signature (8 bytes), then the IHDR chunk: length 13, type, width, height.
        if len(raw) < 24 or raw[8:16] != b"\0\0\0\x0dIHDR":
            return None
        width, height = struct.unpack(">II", raw[16:24])
    elif mime == "image/jpeg":
        found = _jpeg_frame_size(raw)
        if found is None:
            return None
        width, height = found
    else:
        raise ValueError(f"expected image/png or image/jpeg, got {mime!r} instead")
    return (width, height) if width > 0 and height > 0 else None


# JPEG start-of-frame markers (C0-CF but DHT C4, JPG C8 and DAC CC), where its size is.
_JPEG_FRAMES = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_JPEG_STANDALONE = frozenset([0x01, *range(0xD0, 0xD9)])   # TEM, RSTn, SOI: no length


def _jpeg_frame_size(raw):
    """(width, height) from the first frame header of a JPEG, walking its marker segments."""
    at = 2   # after SOI (FFD8)
    for _ in range(MAX_JPEG_SEGMENTS):
        if at >= len(raw) or raw[at] != 0xFF:
            return None
        while at < len(raw) and raw[at] == 0xFF:   # fill bytes before a marker
            at += 1
        if at >= len(raw):
            return None
        marker = raw[at]
        at += 1
        if marker in _JPEG_STANDALONE:
            continue
        if marker in (0xD9, 0xDA) or at + 2 > len(raw):   # image end or scan data: no frame
            return None
        (length,) = struct.unpack(">H", raw[at:at + 2])
        if length < 2:
            return None
        if marker in _JPEG_FRAMES:
            # Length (2), precision (1), height (2), width (2).
            if length < 7 or at + 7 > len(raw):
                return None
            height, width = struct.unpack(">HH", raw[at + 3:at + 7])
            return width, height
        at += length
    return None
