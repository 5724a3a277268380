"""POST /api/v1/uploads under hostile or heavy input: the pixel limit read
from the header before any decode, PNG bombs, the process-wide decode
budget (503 OVERLOADED with Retry-After, memory bounded), and the per-user
daily quota (429 RATE_LIMITED until midnight in Asia/Shanghai, no race at
its edge)."""
import datetime
import os
import threading
import time

import pytest

from conftest import expect_error, expect_ok
from media_support import (base_jpeg, flat_png, jpeg_declaring, metric, png_chunks, rss_kb, start_media_gateway,
                           stop_gateway, stored_files, upload, wait_until, ztxt_bomb)

MiB = 1024 * 1024
SHANGHAI = datetime.timezone(datetime.timedelta(hours=8))


@pytest.fixture(scope="module")
def gw(stack):
    """Default image limits (24 MP, 256 MiB budget); no content check."""
    g = start_media_gateway(stack, "gw_limits", {"public_base_url": "", "upload_max_bytes": 4 * MiB})
    yield g
    stop_gateway(stack, g)


def rows_of(db, uid):
    return db.query("SELECT * FROM uploads WHERE user_id = %s ORDER BY id", (uid,))


def expect_nothing_stored(db, gw, uid, files_before):
    assert rows_of(db, uid) == []
    assert db.scalar("SELECT COUNT(*) FROM upload_quota_days WHERE user_id = %s", (uid,)) == 0
    assert set(stored_files(gw)) == set(files_before)


# ---- the pixel limit --------------------------------------------------------------

def test_jpeg_declaring_7000x5700_is_refused_from_its_header(api, db, factory, gw):
    uid, token = factory.user()
    files = stored_files(gw)
    refused = metric(api, gw, "gateway_uploads_refused_total", 'reason="image_too_large"')
    small = jpeg_declaring(7000, 5700)
    assert len(small) < 2000
    err = expect_error(upload(api, gw, token, small), 422, "IMAGE_TOO_LARGE", field="file")
    assert "7000x5700" in err["message"] and "24.0 megapixels" in err["message"]
    expect_nothing_stored(db, gw, uid, files)
    assert metric(api, gw, "gateway_uploads_refused_total", 'reason="image_too_large"') == refused + 1


def refuse_png_bomb(api, db, factory, gw, bomb, status, code):
    """Uploads bomb (a PNG of under 1 MiB): refused with status/code naming
    the field, nothing stored, and the gateway's peak RSS barely moved (it
    allocated nothing image-sized). Returns the error."""
    uid, token = factory.user()
    files = stored_files(gw)
    assert len(bomb) < 1 * MiB
    peak = rss_kb(gw, "VmHWM")
    err = expect_error(upload(api, gw, token, bomb, content_type="image/png"), status, code, field="file")
    expect_nothing_stored(db, gw, uid, files)
    assert rss_kb(gw, "VmHWM") < peak + 32 * 1024
    return err


def test_png_declaring_7000x5700_is_refused_without_inflating(api, db, factory, gw):
    bomb = flat_png(7000, 5700)  # 120 MB of rows in a few hundred KB
    err = refuse_png_bomb(api, db, factory, gw, bomb, 422, "IMAGE_TOO_LARGE")
    assert "7000x5700" in err["message"]


def test_a_lowered_limit_applies(api, db, factory, stack):
    small = start_media_gateway(stack, "gw_limits_small", {"public_base_url": "", "image_max_pixels": 1000})
    try:
        uid, token = factory.user()
        err = expect_error(upload(api, small, token, base_jpeg()), 422, "IMAGE_TOO_LARGE", field="file")
        assert "64x32" in err["message"] and "at most 1000 pixels" in err["message"]
        assert rows_of(db, uid) == []
        d = expect_ok(upload(api, small, token, flat_png(40, 25), content_type="image/png"), 201)  # 1000 pixels
        assert (d["width"], d["height"]) == (40, 25)
    finally:
        stop_gateway(stack, small)


# ---- PNG bombs --------------------------------------------------------------------

def test_png_whose_data_inflates_past_its_size_is_refused(api, db, factory, gw):
    bomb = flat_png(64, 64, inflated=256 * MiB)  # 64x64 declared, 256 MB of compressed zeros
    err = refuse_png_bomb(api, db, factory, gw, bomb, 422, "IMAGE_INVALID")
    assert "PNG" in err["message"]


def test_png_text_bomb_is_skipped_unread(api, db, factory, gw):
    uid, token = factory.user()
    png = flat_png(30, 20, before_idat=ztxt_bomb(64 * MiB))  # zTXt inflating to 64 MB
    peak = rss_kb(gw, "VmHWM")
    d = expect_ok(upload(api, gw, token, png, content_type="image/png"), 201)
    assert (d["width"], d["height"]) == (30, 20)
    stored = api.get(d["url"], base=gw.url).content
    assert [kind for kind, _ in png_chunks(stored)] == [b"IHDR", b"IDAT", b"IEND"]
    assert rss_kb(gw, "VmHWM") < peak + 32 * 1024
    assert len(rows_of(db, uid)) == 1


def test_many_chunks_are_skipped(api, factory, gw):
    _, token = factory.user()
    from media_support import png_chunk
    chunks = b"".join(png_chunk(b"prVt", bytes([i % 256])) for i in range(50000))
    d = expect_ok(upload(api, gw, token, flat_png(30, 20, before_idat=chunks), content_type="image/png"), 201)
    stored = api.get(d["url"], base=gw.url).content
    assert b"prVt" not in stored


# ---- the decode budget ------------------------------------------------------------

BUDGET = 56 * MiB  # one 3000x2000 PNG (about 50 MB reserved) at a time


@pytest.fixture(scope="module")
def busy_gw(stack):
    g = start_media_gateway(stack, "gw_budget", {"public_base_url": "", "upload_max_bytes": 4 * MiB,
                                                 "image_decode_budget_bytes": BUDGET, "image_decode_wait_ms": 0})
    yield g
    stop_gateway(stack, g)


def test_concurrent_large_decodes_stay_within_the_budget(api, db, factory, busy_gw):
    gw = busy_gw
    uid, token = factory.user()
    photo = flat_png(3000, 2000)
    busy_before = metric(api, gw, "gateway_uploads_refused_total", 'reason="decode_busy"')
    rss_before = rss_kb(gw)
    n = 12
    results = [None] * n
    gate = threading.Barrier(n)

    def one(i):
        gate.wait()
        results[i] = upload(api, gw, token, photo, content_type="image/png")

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    ok = [r for r in results if r.status_code == 201]
    busy = [r for r in results if r.status_code != 201]
    for r in busy:
        err = expect_error(r, 503, "OVERLOADED")
        assert "busy" in err["message"]
        assert int(r.headers["Retry-After"]) >= 1
    assert ok, "no upload got through"
    if (os.cpu_count() or 1) >= 2:  # two image workers: two decodes at once cannot both fit
        assert busy, "the budget never refused a concurrent decode"
    assert api.get("/healthz", base=gw.url).status_code == 200
    # nothing stored for the refused ones, all reservations given back
    assert len(rows_of(db, uid)) == len(ok)
    assert metric(api, gw, "gateway_uploads_refused_total", 'reason="decode_busy"') == busy_before + len(busy)
    assert metric(api, gw, "gateway_image_decode_budget_bytes", 'state="used"') == 0
    assert metric(api, gw, "gateway_image_decode_budget_bytes", 'state="capacity"') == BUDGET
    # one decode's worth at a time, not n
    assert rss_kb(gw, "VmHWM") < rss_before + (BUDGET + 16 * MiB) // 1024


def test_a_photo_larger_than_the_whole_budget_is_refused(api, db, factory, busy_gw):
    uid, token = factory.user()
    err = expect_error(upload(api, busy_gw, token, flat_png(4000, 3000), content_type="image/png"), 422,
                       "IMAGE_TOO_LARGE", field="file")
    assert "MiB" in err["message"] and "4000x3000" in err["message"]
    assert rows_of(db, uid) == []


# ---- the daily quota --------------------------------------------------------------

def shanghai_day_and_reset():
    now = time.time()
    day = datetime.datetime.fromtimestamp(now, SHANGHAI).date()
    return day, 86400 - int(now + 8 * 3600) % 86400


@pytest.fixture(scope="module")
def quota_gw(stack):
    g = start_media_gateway(stack, "gw_quota", {"public_base_url": "", "upload_daily_max_count": 3,
                                                "upload_daily_max_bytes": 0})
    yield g
    stop_gateway(stack, g)


def colour_png(i):
    return flat_png(20, 10, rgb=(i % 256, (i // 256) % 256, 77))


def test_count_quota_allows_exactly_its_count_then_429_until_midnight_china_time(api, db, factory, quota_gw):
    gw = quota_gw
    uid, token = factory.user()
    for i in range(3):
        expect_ok(upload(api, gw, token, colour_png(i), content_type="image/png"), 201)
    files = set(stored_files(gw))
    refused = metric(api, gw, "gateway_uploads_refused_total", 'reason="quota_count"')
    day, reset_before = shanghai_day_and_reset()
    r = upload(api, gw, token, colour_png(3), content_type="image/png")
    _, reset_after = shanghai_day_and_reset()
    err = expect_error(r, 429, "RATE_LIMITED")
    assert "3 photos a day" in err["message"] and "UTC+8" in err["message"]
    retry = int(r.headers["Retry-After"])
    assert reset_after <= retry <= reset_before or (reset_before < reset_after)  # the day may turn meanwhile
    # nothing stored; the counter is this Shanghai day's and holds 3
    assert len(rows_of(db, uid)) == 3
    assert set(stored_files(gw)) == files
    q = db.query("SELECT day, uploads, bytes FROM upload_quota_days WHERE user_id = %s", (uid,))
    assert len(q) == 1 and q[0]["day"] == day and q[0]["uploads"] == 3
    assert q[0]["bytes"] == sum(row["bytes"] for row in rows_of(db, uid))
    assert metric(api, gw, "gateway_uploads_refused_total", 'reason="quota_count"') == refused + 1
    # another user is not affected
    _, other = factory.user()
    expect_ok(upload(api, gw, other, colour_png(4), content_type="image/png"), 201)


def test_yesterdays_uploads_do_not_count(api, db, factory, quota_gw):
    uid, token = factory.user()
    day, _ = shanghai_day_and_reset()
    db.exec("INSERT INTO upload_quota_days (user_id, day, uploads, bytes) VALUES (%s, %s, 3, 100)",
            (uid, day - datetime.timedelta(days=1)))
    expect_ok(upload(api, quota_gw, token, colour_png(5), content_type="image/png"), 201)


def test_two_uploads_at_the_edge_cannot_both_pass(api, db, factory, quota_gw):
    for attempt in range(4):
        uid, token = factory.user()
        day, _ = shanghai_day_and_reset()
        db.exec("INSERT INTO upload_quota_days (user_id, day, uploads, bytes) VALUES (%s, %s, 2, 0)", (uid, day))
        results = [None, None]
        gate = threading.Barrier(2)

        def one(i):
            gate.wait()
            results[i] = upload(api, quota_gw, token, colour_png(100 + 2 * attempt + i), content_type="image/png")

        threads = [threading.Thread(target=one, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        codes = sorted(r.status_code for r in results)
        assert codes == [201, 429], [r.text for r in results]
        assert len(rows_of(db, uid)) == 1
        assert db.scalar("SELECT uploads FROM upload_quota_days WHERE user_id = %s AND day = %s", (uid, day)) == 3


def test_bytes_quota(api, db, factory, stack):
    first = flat_png(200, 100, rgb=(1, 2, 3))
    gw = start_media_gateway(stack, "gw_quota_bytes", {"public_base_url": "", "upload_daily_max_count": 0,
                                                       "upload_daily_max_bytes": 1000})
    try:
        uid, token = factory.user()
        d = expect_ok(upload(api, gw, token, first, content_type="image/png"), 201)
        assert d["bytes"] < 1000
        # the next photo would still fit by count, but the bytes stop it once they are over
        while True:
            r = upload(api, gw, token, flat_png(200, 100, rgb=(len(rows_of(db, uid)), 9, 9)),
                       content_type="image/png")
            if r.status_code != 201:
                break
        err = expect_error(r, 429, "RATE_LIMITED")
        assert "1000 bytes of photos a day" in err["message"]
        assert int(r.headers["Retry-After"]) >= 1
        stored = sum(row["bytes"] for row in rows_of(db, uid))
        assert stored <= 1000 and stored + d["bytes"] > 1000 - d["bytes"]
        assert db.scalar("SELECT bytes FROM upload_quota_days WHERE user_id = %s", (uid,)) == stored
    finally:
        stop_gateway(stack, gw)
