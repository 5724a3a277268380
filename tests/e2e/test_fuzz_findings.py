"""What the fuzz drivers (tests/fuzz/) found, reproduced over HTTPS: their
regression inputs replay in tests/fuzz/regressions/, these show the effect
on a running gateway."""
import struct
import time
import zlib

from conftest import expect_error, expect_ok
from media_support import base_jpeg, png_chunk, sign, upload


def peak_rss_kib(pid):
    """The process's peak resident set size (VmHWM), in KiB."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise AssertionError("no VmHWM in /proc/<pid>/status")


def test_png_chunk_declaring_more_than_the_file_is_refused_without_allocating_it(api, stack, factory):
    """125 bytes declaring a 1.8 GB tEXt chunk made libpng allocate and touch
    1.8 GB before it noticed the file had ended (fuzz_image)."""
    _, token = factory.user()
    raw = b"\0" + bytes([200, 30, 10]) * 20
    text = b"Comment\0taken at 31.2304N 121.4737E"
    bomb = (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", 20, 10, 8, 2, 0, 0, 0)) +
            struct.pack(">I", 1835623985) + b"tEXt" + text + b"\0\0\0\0" +
            png_chunk(b"IDAT", zlib.compress(raw * 10)) + png_chunk(b"IEND", b""))
    pid = stack.gateway.proc.pid
    before = peak_rss_kib(pid)
    r = upload(api, stack.gateway, token, bomb, filename="bomb.png", content_type="image/png")
    grown = peak_rss_kib(pid) - before
    assert grown < 100 * 1024, f"the upload raised the gateway's peak memory by {grown // 1024} MiB"
    err = expect_error(r, 422, "IMAGE_INVALID", "file")
    assert "a chunk is longer than the file" in err["message"], err


def test_nul_in_a_path_segment_matches_no_route(api, stack, factory):
    """h2o decodes %00 in the path: /media/<id>/full%00x was served as
    /media/<id>/full, with the signature of "full" (fuzz_router)."""
    _, token = factory.user()
    d = expect_ok(upload(api, stack.gateway, token, base_jpeg()), 201)
    exp = int(time.time()) + 600
    good = sign(stack.gateway, d["id"], "full", exp)
    assert api.get(good).status_code == 200
    path, query = good.split("?", 1)
    expect_error(api.get(f"{path}%00x?{query}"), 404, "NOT_FOUND")
    expect_error(api.get(f"/media/{d['id']}%00/full?{query}"), 404, "NOT_FOUND")
