"""POST /api/v1/uploads: multipart parsing, type from magic bytes, EXIF
orientation and metadata stripping, the size cap, what is (not) stored, and
the orphan sweeper (files deleted only after the row's deletion committed,
and only when no row references them)."""
import hashlib
import os
import secrets

import pytest

from conftest import Db, expect_error, expect_ok
from media_support import (GPS_SECRET, UPLOAD_CAP, base_jpeg, file_path, flat_png, jpeg_segments, jpeg_size,
                           jpeg_with_exif, png_chunks, png_with_text, start_media_gateway, stop_gateway, stored_files,
                           upload, wait_until)


@pytest.fixture(scope="module")
def gw(stack):
    g = start_media_gateway(stack, "gw_uploads", {"public_base_url": ""})  # no content check here
    yield g
    stop_gateway(stack, g)


def rows_of(db, uid):
    return db.query("SELECT * FROM uploads WHERE user_id = %s ORDER BY id", (uid,))


def fetch(api, gw, path):
    return api.get(path, base=gw.url)


def test_jpeg_with_gps_and_orientation_is_upright_and_stripped(api, db, factory, gw):
    uid, token = factory.user()
    original = jpeg_with_exif(6)  # stored sideways: rotate 90 degrees clockwise to display
    assert GPS_SECRET in original and jpeg_size(original) == (64, 32)
    r = upload(api, gw, token, original, filename="IMG_0001.JPG")
    d = expect_ok(r, 201)
    assert d["content_type"] == "image/jpeg"
    assert (d["width"], d["height"]) == (32, 64)
    assert d["url"] == f"/media/{d['id']}/full?" + d["url"].split("?", 1)[1]
    assert d["thumb_url"].startswith(f"/media/{d['id']}/thumb?exp=")

    full = fetch(api, gw, d["url"])
    assert full.status_code == 200, full.text
    assert full.headers["content-type"] == "image/jpeg"
    assert full.headers["cache-control"].startswith("private, max-age=")
    assert 0 < int(full.headers["cache-control"].split("=")[1]) <= 600
    body = full.content
    assert len(body) == d["bytes"]
    assert jpeg_size(body) == (32, 64)
    assert b"Exif" not in body and GPS_SECRET not in body
    markers = [m for m, _ in jpeg_segments(body)]
    assert not [m for m in markers if 0xE1 <= m <= 0xEF or m == 0xFE], [hex(m) for m in markers]

    thumb = fetch(api, gw, d["thumb_url"])
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"
    assert jpeg_size(thumb.content) == (32, 64) and b"Exif" not in thumb.content

    (row,) = rows_of(db, uid)
    assert row["id"] == d["id"]
    assert row["sha256"] == hashlib.sha256(body).hexdigest()
    assert row["thumb_sha256"] == hashlib.sha256(thumb.content).hexdigest()
    assert (row["content_type"], row["bytes"], row["width"], row["height"]) == ("image/jpeg", len(body), 32, 64)
    assert row["ticket_id"] is None and row["hidden"] == 0
    assert row["check_status"] == "unchecked" and row["check_trace_id"] is None  # public_base_url is empty
    with open(file_path(gw, row["sha256"]), "rb") as f:
        assert f.read() == body
    assert db.scalar("SELECT COUNT(*) FROM media_objects WHERE sha256 IN (%s, %s)",
                     (row["sha256"], row["thumb_sha256"])) == 2


def test_upright_jpeg_keeps_its_size_and_loses_exif(api, db, factory, gw):
    uid, token = factory.user()
    d = expect_ok(upload(api, gw, token, jpeg_with_exif(1)), 201)
    assert (d["width"], d["height"]) == (64, 32)
    body = fetch(api, gw, d["url"]).content
    assert jpeg_size(body) == (64, 32) and b"Exif" not in body and GPS_SECRET not in body
    assert rows_of(db, uid)[0]["width"] == 64


def test_png_text_chunk_is_stripped(api, db, factory, gw):
    uid, token = factory.user()
    original = png_with_text()
    assert b"tEXt" in original
    d = expect_ok(upload(api, gw, token, original, filename="screen.png", content_type="image/png"), 201)
    assert (d["content_type"], d["width"], d["height"]) == ("image/png", 20, 10)
    full = fetch(api, gw, d["url"])
    assert full.status_code == 200 and full.headers["content-type"] == "image/png"
    kinds = [k for k, _ in png_chunks(full.content)]
    assert b"tEXt" not in kinds and b"31.2304N" not in full.content
    assert set(kinds) == {b"IHDR", b"IDAT", b"IEND"}
    thumb = fetch(api, gw, d["thumb_url"])
    assert thumb.headers["content-type"] == "image/jpeg" and jpeg_size(thumb.content) == (20, 10)
    (row,) = rows_of(db, uid)
    assert (row["content_type"], row["sha256"]) == ("image/png", hashlib.sha256(full.content).hexdigest())


def test_the_declared_type_is_ignored(api, db, factory, gw):
    """A PNG sent as image/jpeg named x.jpg is stored as what it is."""
    uid, token = factory.user()
    d = expect_ok(upload(api, gw, token, png_with_text(), filename="x.jpg", content_type="image/jpeg"), 201)
    assert d["content_type"] == "image/png"
    assert rows_of(db, uid)[0]["content_type"] == "image/png"


def assert_nothing_stored(db, gw, uid, files_before):
    assert rows_of(db, uid) == []
    assert stored_files(gw) == files_before


def test_renamed_text_file_is_rejected_and_nothing_stored(api, db, factory, gw):
    uid, token = factory.user()
    before = stored_files(gw)
    r = upload(api, gw, token, b"just some text, not a photo\n" * 10, filename="photo.jpg", content_type="image/jpeg")
    err = expect_error(r, 415, "UNSUPPORTED_MEDIA_TYPE", field="file")
    assert "not an image" in err["message"]
    assert_nothing_stored(db, gw, uid, before)


def test_corrupt_jpeg_is_rejected(api, db, factory, gw):
    uid, token = factory.user()
    before = stored_files(gw)
    j = base_jpeg()
    r = upload(api, gw, token, j[:len(j) // 2])
    expect_error(r, 422, "IMAGE_INVALID", field="file")
    assert_nothing_stored(db, gw, uid, before)


def test_webp_is_refused_with_a_clear_message(api, db, factory, gw):
    uid, token = factory.user()
    before = stored_files(gw)
    r = upload(api, gw, token, b"RIFF\x24\0\0\0WEBPVP8 " + b"\0" * 24, filename="a.webp", content_type="image/webp")
    err = expect_error(r, 415, "UNSUPPORTED_MEDIA_TYPE", field="file")
    assert "WebP" in err["message"] and "JPEG or PNG" in err["message"]
    assert_nothing_stored(db, gw, uid, before)


def test_over_the_cap_is_413_and_nothing_stored(api, db, factory, gw):
    uid, token = factory.user()
    before = stored_files(gw)
    big = base_jpeg()[:-2] + b"\0" * (UPLOAD_CAP + 1 - len(base_jpeg()) + 2)
    assert len(big) == UPLOAD_CAP + 1
    r = upload(api, gw, token, big)
    err = expect_error(r, 413, "PAYLOAD_TOO_LARGE", field="file")
    assert str(UPLOAD_CAP) in err["message"]
    assert_nothing_stored(db, gw, uid, before)


def test_missing_file_field_is_400(api, db, factory, gw):
    uid, token = factory.user()
    r = api.post("/api/v1/uploads", base=gw.url, token=token, files={"purpose": (None, "repair")})
    expect_error(r, 400, "MISSING_FIELD", field="file")
    # the photo under another field name is not the file either
    r = upload(api, gw, token, base_jpeg(), field="image")
    expect_error(r, 400, "MISSING_FIELD", field="file")
    assert rows_of(db, uid) == []


def test_not_multipart_is_415(api, db, factory, gw):
    uid, token = factory.user()
    r = api.post("/api/v1/uploads", base=gw.url, token=token, data=base_jpeg(), headers={"Content-Type": "image/jpeg"})
    expect_error(r, 415, "UNSUPPORTED_MEDIA_TYPE")
    r = api.post("/api/v1/uploads", base=gw.url, token=token, json={"file": "x"})
    expect_error(r, 415, "UNSUPPORTED_MEDIA_TYPE")
    assert rows_of(db, uid) == []


def test_malformed_multipart_is_400(api, db, factory, gw):
    uid, token = factory.user()
    body = (b"--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.jpg\"\r\n\r\n" + base_jpeg() +
            b"\r\n")  # no closing boundary
    r = api.post("/api/v1/uploads", base=gw.url, token=token, data=body,
                 headers={"Content-Type": "multipart/form-data; boundary=XyZ"})
    err = expect_error(r, 400, "INVALID_FIELD")
    assert "closing boundary" in err["message"]
    r = api.post("/api/v1/uploads", base=gw.url, token=token, data=body + b"--XyZ--\r\n",
                 headers={"Content-Type": "multipart/form-data"})  # no boundary parameter
    expect_error(r, 400, "INVALID_FIELD")
    parts = b"".join(b"--XyZ\r\nContent-Disposition: form-data; name=\"f%d\"\r\n\r\nv\r\n" % i for i in range(17))
    r = api.post("/api/v1/uploads", base=gw.url, token=token, data=parts + b"--XyZ--\r\n",
                 headers={"Content-Type": "multipart/form-data; boundary=XyZ"})
    err = expect_error(r, 400, "INVALID_FIELD")
    assert "too many parts" in err["message"]
    # the same body, closed, is fine
    r = api.post("/api/v1/uploads", base=gw.url, token=token, data=body + b"--XyZ--\r\n",
                 headers={"Content-Type": "multipart/form-data; boundary=XyZ"})
    expect_ok(r, 201)
    assert len(rows_of(db, uid)) == 1


def test_login_required(api, gw):
    r = upload(api, gw, None, base_jpeg())
    expect_error(r, 401, "UNAUTHENTICATED")


def test_same_photo_twice_shares_one_file(api, db, factory, gw):
    uid, token = factory.user()
    content = jpeg_with_exif(3)
    a = expect_ok(upload(api, gw, token, content), 201)
    b = expect_ok(upload(api, gw, token, content), 201)
    assert a["id"] != b["id"]
    ra, rb = rows_of(db, uid)
    assert ra["sha256"] == rb["sha256"] and ra["thumb_sha256"] == rb["thumb_sha256"]
    assert os.path.exists(file_path(gw, ra["sha256"]))


def test_orphans_are_swept_with_their_files(api, db, factory, gw):
    uid, token = factory.user()
    # a: an old orphan with its own content; b and c share content, b old, c recent;
    # d old but attached to a ticket
    a = expect_ok(upload(api, gw, token, jpeg_with_exif(8)), 201)
    shared = png_with_text(w=33)
    b = expect_ok(upload(api, gw, token, shared, content_type="image/png"), 201)
    c = expect_ok(upload(api, gw, token, shared, content_type="image/png"), 201)
    d = expect_ok(upload(api, gw, token, png_with_text(w=34), content_type="image/png"), 201)
    rows = {r["id"]: r for r in rows_of(db, uid)}
    db.exec("UPDATE uploads SET ticket_id = 999999999 WHERE id = %s", (d["id"],))
    db.exec("UPDATE uploads SET created_at = created_at - INTERVAL 2 HOUR WHERE id IN (%s, %s, %s)",
            (a["id"], b["id"], d["id"]))

    wait_until(lambda: db.scalar("SELECT COUNT(*) FROM uploads WHERE id IN (%s, %s)", (a["id"], b["id"])) == 0,
               what="the sweeper to remove the old orphans")
    remaining = {r["id"] for r in rows_of(db, uid)}
    assert remaining == {c["id"], d["id"]}
    ra = rows[a["id"]]
    wait_until(lambda: not os.path.exists(file_path(gw, ra["sha256"])), what="the orphan's file to go")
    assert not os.path.exists(file_path(gw, ra["thumb_sha256"]))
    assert db.scalar("SELECT COUNT(*) FROM media_objects WHERE sha256 IN (%s, %s)",
                     (ra["sha256"], ra["thumb_sha256"])) == 0
    # b's files are still used by c; d is attached
    for rid in (c["id"], d["id"]):
        assert os.path.exists(file_path(gw, rows[rid]["sha256"]))
        assert os.path.exists(file_path(gw, rows[rid]["thumb_sha256"]))
    assert fetch(api, gw, c["url"]).status_code == 200
    # the swept upload's URL now finds nothing
    expect_error(fetch(api, gw, a["url"]), 404, "NOT_FOUND")


def unique_png():
    """A small PNG whose pixels (so its stored file and thumbnail) no other test uploads."""
    return flat_png(37, 23, rgb=tuple(secrets.token_bytes(3)))


def sweep_failures(gw):
    with open(gw.log, errors="replace") as f:
        return f.read().count("orphan sweep failed")


def test_a_sweep_that_cannot_commit_leaves_the_upload_and_its_files(api, db, factory, gw, stack):
    uid, token = factory.user()
    d = expect_ok(upload(api, gw, token, unique_png(), content_type="image/png"), 201)
    row = rows_of(db, uid)[0]
    first, second = sorted([row["sha256"], row["thumb_sha256"]])
    failures = sweep_failures(gw)
    # Another connection holds the row of the file the sweeper reaches last:
    # its transaction times out after it dealt with the first file.
    with open(stack.db.password_file) as f:
        holder = Db(stack.db.socket, stack.db.user, f.read().strip(), stack.db.database)
    try:
        holder.conn.begin()
        holder.query("SELECT sha256 FROM media_objects WHERE sha256 = %s FOR UPDATE", (second,))
        db.exec("UPDATE uploads SET created_at = created_at - INTERVAL 2 HOUR WHERE id = %s", (d["id"],))
        wait_until(lambda: sweep_failures(gw) > failures, timeout=60, what="a sweep to fail on the held lock")
        # rolled back whole: the upload, both files and their rows are there
        assert db.scalar("SELECT COUNT(*) FROM uploads WHERE id = %s", (d["id"],)) == 1
        assert os.path.exists(file_path(gw, first)), "a file was deleted before its row's deletion committed"
        assert os.path.exists(file_path(gw, second))
        assert db.scalar("SELECT COUNT(*) FROM media_objects WHERE sha256 IN (%s, %s) AND orphaned_at IS NULL",
                         (first, second)) == 2
        assert fetch(api, gw, d["url"]).status_code == 200
    finally:
        holder.conn.rollback()
        holder.close()
    # a later sweep commits, then deletes the files
    wait_until(lambda: db.scalar("SELECT COUNT(*) FROM uploads WHERE id = %s", (d["id"],)) == 0, timeout=60,
               what="a later sweep to remove the upload")
    wait_until(lambda: not os.path.exists(file_path(gw, first)) and not os.path.exists(file_path(gw, second)),
               timeout=30, what="its files to go")
    assert db.scalar("SELECT COUNT(*) FROM media_objects WHERE sha256 IN (%s, %s)", (first, second)) == 0


def test_files_left_to_delete_are_finished_later_only_when_unreferenced(api, db, factory, gw):
    # a file whose upload's deletion committed but was never unlinked (a crash, a failed unlink)
    content = secrets.token_bytes(200)
    left = hashlib.sha256(content).hexdigest()
    os.makedirs(os.path.dirname(file_path(gw, left)), exist_ok=True)
    with open(file_path(gw, left), "wb") as f:
        f.write(content)
    db.exec("INSERT INTO media_objects (sha256, orphaned_at) VALUES (%s, NOW(3) - INTERVAL 2 HOUR)", (left,))
    # files marked, but an upload uses them again (it was stored meanwhile)
    uid, token = factory.user()
    d = expect_ok(upload(api, gw, token, unique_png(), content_type="image/png"), 201)
    row = rows_of(db, uid)[0]
    used = (row["sha256"], row["thumb_sha256"])
    db.exec("UPDATE media_objects SET orphaned_at = NOW(3) - INTERVAL 2 HOUR WHERE sha256 IN (%s, %s)", used)

    wait_until(lambda: not os.path.exists(file_path(gw, left)), what="the left-over file to go")
    assert db.scalar("SELECT COUNT(*) FROM media_objects WHERE sha256 = %s", (left,)) == 0
    wait_until(lambda: db.scalar("SELECT COUNT(*) FROM media_objects WHERE sha256 IN (%s, %s)"
                                 " AND orphaned_at IS NULL", used) == 2, what="the used files' marks to be cleared")
    assert all(os.path.exists(file_path(gw, k)) for k in used)
    assert fetch(api, gw, d["url"]).status_code == 200
