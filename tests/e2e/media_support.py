"""Helpers shared by test_uploads.py and test_media.py: a gateway configured
for photo tests, test images built byte by byte (no imaging library), and
readers for what comes back."""
import glob
import hashlib
import hmac
import os
import socket
import struct
import zlib

from conftest import wait_for

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")
PUSH_TOKEN = "media-push-token-for-tests"
UPLOAD_CAP = 200000


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_media_gateway(stack, name, extra=None):
    """A gateway on the session's database with short limits, its plain HTTP
    listener on (WeChat pushes to it and fetches photos from it), the content
    check on, and a fast sweeper. The plain listener's base URL is
    gw.http_base."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    cfg = {
        "http_port": port,
        "upload_max_bytes": UPLOAD_CAP,
        "upload_sweep_interval_ms": 200,
        "upload_orphan_ttl_s": 3600,
        "media_url_ttl_s": 600,
        "public_base_url": base,
        "media_check_retry_s": 1,
        "wechat_push_token": PUSH_TOKEN,
    }
    cfg.update(extra or {})
    gw = stack.start_gateway(cfg, name=name)
    gw.http_base = base
    return gw


def stop_gateway(stack, gw):
    code = gw.stop()
    if gw in stack.extra_gateways:
        stack.extra_gateways.remove(gw)
    assert code == 0, f"gateway exited with {code}; see {gw.log}"


def media_key(gw):
    with open(os.path.join(gw.dir, "media_url_key")) as f:
        return f.read().strip().encode()


def sign(gw, upload_id, variant, exp):
    """The signed path, computed as gateway/media_url.h documents it."""
    msg = f"{upload_id}/{variant}/{exp}".encode()
    sig = hmac.new(media_key(gw), msg, hashlib.sha256).hexdigest()
    return f"/media/{upload_id}/{variant}?exp={exp}&sig={sig}"


def stored_files(gw):
    """Every file in the gateway's media store, as {sha256: path}."""
    root = os.path.join(gw.dir, "media")
    return {os.path.basename(p): p for p in glob.glob(os.path.join(root, "*", "*", "*")) if os.path.isfile(p)}


def file_path(gw, sha):
    return os.path.join(gw.dir, "media", sha[:2], sha[2:4], sha)


def push_url(gw):
    return gw.http_base + "/api/v1/wechat/push"


# The photo tests' name for the shared poller.
wait_until = wait_for


# ---- JPEG -------------------------------------------------------------------------

GPS_SECRET = b"GPS-SECRET-31.2304N-121.4737E"


def base_jpeg():
    """64x32 baseline JPEG (4:2:0, so rotations are lossless without
    trimming): left half red, right half blue, no metadata."""
    with open(os.path.join(DATA, "red_blue_64x32.jpg"), "rb") as f:
        return f.read()


def exif_segment(orientation):
    """APP1 Exif: IFD0 with Orientation and a GPS IFD pointer; the GPS IFD
    holds GPSLatitudeRef N, GPSLatitude 31/1 13/1 49/1 and a
    GPSProcessingMethod carrying GPS_SECRET. Little-endian TIFF."""
    ifd0_off, gps_off = 8, 8 + 2 + 2 * 12 + 4
    gps_entries = 3
    data_off = gps_off + 2 + gps_entries * 12 + 4
    lat = struct.pack("<6I", 31, 1, 13, 1, 49, 1)
    method = b"ASCII\0\0\0" + GPS_SECRET
    tiff = b"II*\0" + struct.pack("<I", ifd0_off)
    tiff += struct.pack("<H", 2)
    tiff += struct.pack("<HHIHH", 0x0112, 3, 1, orientation, 0)
    tiff += struct.pack("<HHII", 0x8825, 4, 1, gps_off)
    tiff += struct.pack("<I", 0)
    tiff += struct.pack("<H", gps_entries)
    tiff += struct.pack("<HHI4s", 0x0001, 2, 2, b"N\0\0\0")
    tiff += struct.pack("<HHII", 0x0002, 5, 3, data_off)
    tiff += struct.pack("<HHII", 0x001B, 7, len(method), data_off + len(lat))
    tiff += struct.pack("<I", 0)
    assert len(tiff) == data_off
    tiff += lat + method
    payload = b"Exif\0\0" + tiff
    return b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload


def jpeg_with_exif(orientation):
    j = base_jpeg()
    return j[:2] + exif_segment(orientation) + j[2:]


def jpeg_segments(data):
    """[(marker, payload)] up to SOS."""
    assert data[:2] == b"\xff\xd8", "not a JPEG"
    out, p = [], 2
    while p + 4 <= len(data):
        assert data[p] == 0xFF, f"bad marker at {p}"
        marker = data[p + 1]
        if marker == 0xDA:
            break
        n = struct.unpack(">H", data[p + 2:p + 4])[0]
        out.append((marker, data[p + 4:p + 2 + n]))
        p += 2 + n
    return out


def jpeg_size(data):
    for marker, payload in jpeg_segments(data):
        if marker in (0xC0, 0xC1, 0xC2):
            h, w = struct.unpack(">HH", payload[1:5])
            return w, h
    raise AssertionError("no SOF segment")


# ---- PNG --------------------------------------------------------------------------

def png_chunk(kind, body):
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def png_with_text(w=20, h=10, text=b"Comment\0taken at 31.2304N 121.4737E"):
    """An RGB PNG with a tEXt chunk before the image data."""
    raw = b"".join(b"\0" + bytes([200, 30, 10]) * w for _ in range(h))
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) +
            png_chunk(b"tEXt", text) + png_chunk(b"IDAT", zlib.compress(raw)) + png_chunk(b"IEND", b""))


def flat_png(w, h, rgb=(40, 90, 160), inflated=None, before_idat=b""):
    """An 8-bit RGB PNG of w x h in one colour, compressed with zlib: a large
    image in a small file. inflated: make the IDAT stream inflate to that
    many bytes instead of the honest h * (1 + 3w) (a decompression bomb);
    before_idat: raw chunks to put between IHDR and IDAT."""
    row = b"\0" + bytes(rgb) * w
    z = zlib.compressobj(9)
    parts = []
    honest = h * len(row)
    total = honest if inflated is None else inflated
    sent, block = 0, row * max(1, (1 << 20) // len(row))
    while sent < total:
        piece = block[:total - sent] if sent < honest else bytes(min(len(block), total - sent))
        parts.append(z.compress(piece))
        sent += len(piece)
    parts.append(z.flush())
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) + before_idat +
            png_chunk(b"IDAT", b"".join(parts)) + png_chunk(b"IEND", b""))


def ztxt_bomb(inflated):
    """A zTXt chunk whose text inflates to `inflated` bytes."""
    return png_chunk(b"zTXt", b"Comment\0\0" + zlib.compress(bytes(inflated), 9))


def jpeg_declaring(w, h):
    """The 64x32 test JPEG with its SOF saying w x h (the scans stay small)."""
    j = bytearray(base_jpeg())
    p = 2
    while p + 9 < len(j):
        assert j[p] == 0xFF
        marker, n = j[p + 1], struct.unpack(">H", j[p + 2:p + 4])[0]
        if marker in (0xC0, 0xC1, 0xC2):
            j[p + 5:p + 9] = struct.pack(">HH", h, w)
            return bytes(j)
        p += 2 + n
    raise AssertionError("no SOF segment")


def rss_kb(gw, field="VmRSS"):
    """The gateway process's VmRSS (now) or VmHWM (its peak so far), in KiB."""
    with open(f"/proc/{gw.proc.pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise AssertionError(f"no {field} in /proc/{gw.proc.pid}/status")


def metric(api, gw, name, labels=""):
    """One sample of the gateway's /metrics (0 when absent)."""
    text = api.get("/metrics", base=gw.url).text
    prefix = f"{name}{{{labels}}} " if labels else f"{name} "
    for line in text.splitlines():
        if line.startswith(prefix):
            return float(line[len(prefix):])
    return 0.0


def png_chunks(data):
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    out, p = [], 8
    while p + 8 <= len(data):
        n = struct.unpack(">I", data[p:p + 4])[0]
        out.append((data[p + 4:p + 8], data[p + 8:p + 8 + n]))
        p += 12 + n
    return out


# ---- requests ---------------------------------------------------------------------

def upload(api, gw, token, content, filename="photo.jpg", content_type="image/jpeg", field="file", extra=None):
    return api.post("/api/v1/uploads", base=gw.url, token=token, files={field: (filename, content, content_type)},
                    data=extra if extra is not None else {"purpose": "repair"})
