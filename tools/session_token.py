"""Session tokens as gateway/session_token.h defines them, minted outside
the gateway: the one minter of the end-to-end tests and the benchmarks.

Format: <kid>.<user id>.<expiry unix s>.<session id>.<signature>, the
signature being base64url (no padding) of HMAC-SHA256(secret of kid,
"<kid>.<uid>.<exp>.<sid>"). The session id is 96 random bits (16 base64url
characters); tokens of the earlier format carried a 12-character nonce in
its place, and verify the same way.

    kid, secret = signing_key("/path/to/session_keys")
    token = mint(kid, secret, user_id=42, expires_at=int(time.time()) + 600)
"""
import base64
import hashlib
import hmac
import secrets


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def parse_keys(spec):
    """'kid=secret[,kid=secret...]' (the session_keys value) as [(kid, secret)], signing key first."""
    return [tuple(entry.split("=", 1)) for entry in spec.strip().split(",") if entry]


def signing_key(path):
    """The (kid, secret) that signs, from a session_keys file."""
    with open(path, encoding="utf-8") as f:
        return parse_keys(f.read())[0]


def new_session_id():
    return b64url(secrets.token_bytes(12))


def mint(kid, secret, user_id, expires_at, session_id=None):
    """A token the gateway accepts while kid=secret is one of its keys and expires_at is ahead."""
    sid = session_id if session_id is not None else new_session_id()
    msg = f"{kid}.{user_id}.{int(expires_at)}.{sid}"
    key = secret.encode() if isinstance(secret, str) else secret
    return msg + "." + b64url(hmac.new(key, msg.encode(), hashlib.sha256).digest())


def session_id_of(token):
    """The session id (fourth part) of a token."""
    return token.split(".")[3]
