"""Pushes to the gateway's message server (§7), in plaintext or safe (AES) mode.

The query carries signature = sha1(sorted [Token, timestamp, nonce] joined), exactly
what WeChat sends, so the gateway's verifier runs for real. In safe mode (an
EncodingAESKey is configured) the query adds encrypt_type=aes and
msg_signature = sha1(sorted [Token, timestamp, nonce, Encrypt] joined), and the body
is {"ToUserName", "Encrypt"}: AES-256-CBC of 16 random bytes, the 4-byte big-endian
length of the message, the message and the appid, PKCS#7-padded to 32 bytes, with
key = base64(EncodingAESKey + "=") and IV = the key's first 16 bytes. AES comes from
python3-cryptography, imported only when safe mode is used.

Tests can pin the timestamp and nonce (replays, stale pushes) and spoil one part of
a push: the signature, the msg_signature, the ciphertext or the appid inside it.
"""

import base64
import hashlib
import json
import os
import secrets
import struct
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

PUSH_TIMEOUT_S = 5  # WeChat itself gives the message server 5 s
AES_BLOCK = 32      # WeChat pads to 32 bytes, not AES's 16


def signature(token, *parts):
    """sha1 of the sorted parts joined: signature (3 parts) and msg_signature (4)."""
    return hashlib.sha1("".join(sorted([token, *parts])).encode()).hexdigest()


def aes_key_bytes(encoding_aes_key):
    if len(encoding_aes_key) != 43:
        raise ValueError("EncodingAESKey must be 43 characters")
    key = base64.b64decode(encoding_aes_key + "=", validate=True)
    if len(key) != 32:
        raise ValueError("EncodingAESKey must decode to 32 bytes")
    return key


def _cipher(key):
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
    return Cipher(algorithms.AES(key), modes.CBC(key[:16]))


def encrypt(encoding_aes_key, appid, message, random16=None):
    """The Encrypt field for message (bytes or str) sent on behalf of appid."""
    key = aes_key_bytes(encoding_aes_key)
    if isinstance(message, str):
        message = message.encode()
    plain = (random16 or os.urandom(16)) + struct.pack(">I", len(message)) + message + appid.encode()
    pad = AES_BLOCK - len(plain) % AES_BLOCK
    plain += bytes([pad]) * pad
    enc = _cipher(key).encryptor()
    return base64.b64encode(enc.update(plain) + enc.finalize()).decode()


def decrypt(encoding_aes_key, encrypted):
    """(message bytes, appid) from an Encrypt field; raises ValueError if malformed."""
    key = aes_key_bytes(encoding_aes_key)
    data = base64.b64decode(encrypted, validate=True)
    if not data or len(data) % 16:
        raise ValueError("ciphertext is not whole AES blocks")
    dec = _cipher(key).decryptor()
    plain = dec.update(data) + dec.finalize()
    pad = plain[-1]
    if not 1 <= pad <= AES_BLOCK or plain[-pad:] != bytes([pad]) * pad:
        raise ValueError("bad padding")
    plain = plain[:-pad]
    if len(plain) < 20:
        raise ValueError("too short")
    n = struct.unpack(">I", plain[16:20])[0]
    if 20 + n > len(plain):
        raise ValueError("bad length")
    return plain[20:20 + n], plain[20 + n:].decode()


def signed_query(token, extra=None, bad_signature=False, timestamp=None, nonce=None):
    timestamp = str(int(time.time()) if timestamp is None else timestamp)
    nonce = str(secrets.randbelow(10**10) if nonce is None else nonce)
    sig = "0" * 40 if bad_signature else signature(token, timestamp, nonce)
    query = {"signature": sig, "timestamp": timestamp, "nonce": nonce}
    query.update(extra or {})
    return query


def _with_query(url, query):
    sep = "&" if "?" in url else "?"
    return url + sep + urllib.parse.urlencode(query)


def send(url, method, query, body=None):
    """One HTTP call to the push URL. Returns {status, response, error}; never raises."""
    data = None
    headers = {}
    if body is not None:
        data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        headers["Content-Type"] = "application/json"
    request = urllib.request.Request(_with_query(url, query), data=data, method=method,
                                     headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=PUSH_TIMEOUT_S) as resp:
            return {"status": resp.status, "response": resp.read().decode("utf-8", "replace"),
                    "error": None}
    except urllib.error.HTTPError as exc:  # non-2xx: still an answer from the gateway
        return {"status": exc.code, "response": exc.read().decode("utf-8", "replace"),
                "error": None}
    except (OSError, ValueError) as exc:
        return {"status": None, "response": None, "error": str(exc)}


def _spoil(encrypted):
    """The same ciphertext with one bit of its first block flipped."""
    raw = bytearray(base64.b64decode(encrypted))
    raw[3] ^= 0x01
    return base64.b64encode(bytes(raw)).decode()


def _safe_parts(token, query, plain, opts):
    """Encrypts plain (bytes) as opts say; adds encrypt_type and msg_signature to query.
    Returns the Encrypt value."""
    encrypted = encrypt(opts["aes_key"], opts.get("appid") or "", plain)
    sig = signature(token, query["timestamp"], query["nonce"], encrypted)
    if opts.get("tamper"):
        encrypted = _spoil(encrypted)  # after signing: the signature no longer matches
    if opts.get("tamper_resigned"):
        encrypted = _spoil(encrypted)  # and signed again: only decryption can catch it
        sig = signature(token, query["timestamp"], query["nonce"], encrypted)
    if opts.get("bad_msg_signature"):
        sig = "0" * 40
    query.update(encrypt_type="aes", msg_signature=sig)
    return encrypted


def push_event(state, url, token, event, openid=None, bad_signature=False, opts=None):
    """POST one JSON event now; the outcome is appended to state.pushes and returned.

    opts: aes_key (safe mode when set), appid (inside the ciphertext), original_id,
    timestamp, nonce, tamper, tamper_resigned, bad_msg_signature."""
    opts = opts or {}
    extra = {"openid": openid} if openid else {}
    query = signed_query(token, extra, bad_signature, opts.get("timestamp"), opts.get("nonce"))
    body = event
    if opts.get("aes_key"):
        plain = json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode()
        body = {"ToUserName": opts.get("original_id") or "", "Encrypt": _safe_parts(token, query, plain, opts)}
    outcome = send(url, "POST", query, body)
    if outcome["error"] or outcome["status"] != 200:
        print(f"[fake_wechat] push to {url} failed: status={outcome['status']} "
              f"error={outcome['error']}", file=sys.stderr, flush=True)
    entry = {"ts": time.time(), "method": "POST", "url": url, "query": query, "body": event,
             "sent_body": body, **outcome}
    with state.lock:
        state.pushes.append(entry)
    return entry


def verify_url(state, url, token, echostr, bad_signature=False, opts=None):
    """The GET ?signature&timestamp&nonce&echostr check WeChat does when the URL is saved.
    In safe mode echostr is encrypted and the query carries msg_signature."""
    opts = opts or {}
    query = signed_query(token, {}, bad_signature, opts.get("timestamp"), opts.get("nonce"))
    if opts.get("aes_key"):
        query["echostr"] = _safe_parts(token, query, echostr.encode(), opts)
    else:
        query["echostr"] = echostr
    outcome = send(url, "GET", query)
    entry = {"ts": time.time(), "method": "GET", "url": url, "query": query, "body": None,
             **outcome}
    with state.lock:
        state.pushes.append(entry)
    return entry


def push_later(state, delay_ms, url, token, event, openid=None, opts=None):
    """Deliver in a background thread, like WeChat's asynchronous result push."""
    def run():
        time.sleep(delay_ms / 1000.0)
        push_event(state, url, token, event, openid, opts=opts)

    threading.Thread(target=run, name="fake-wechat-push", daemon=True).start()
