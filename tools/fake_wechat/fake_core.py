"""Core data of the fake WeChat server: configuration, shared state, request/reply types.

Everything mutable lives in one State object guarded by one lock (State.lock).
Endpoint code runs with the lock held, so each request sees and changes the
state atomically; only sleeps and outgoing network calls happen outside it.
"""

import base64
import copy
import hashlib
import math
import secrets
import threading
import time
from dataclasses import dataclass, field

# Real errmsg strings, as WeChat sends them; the fake appends " rid: ...".
ERRMSG = {
    -1: "system error",
    0: "ok",
    40001: "invalid credential, access_token is invalid or not latest",
    40002: "invalid grant_type",
    40003: "invalid openid",
    40013: "invalid appid",
    40029: "invalid code",
    40037: "invalid template_id",
    40066: "invalid url",
    40097: "invalid args",
    40125: "invalid appsecret",
    40129: "invalid scene",
    40163: "code been used",
    40169: "invalid length for scene, or the data is not json string",
    40226: "code blocked",
    41001: "access_token missing",
    41002: "appid missing",
    41004: "appsecret missing",
    41008: "missing code",
    41030: "invalid page",
    42001: "access_token expired",
    43001: "require GET method",
    43002: "require POST method",
    43101: "user refuse to accept the msg",
    44002: "empty post data",
    45009: "reach max api daily quota limit",
    45011: "api minute-quota reach limit mustslower retry next minute",
    45103: "This API has been unsupported",
    45109: "This API has been unsupported",
    47001: "data format error",
    47003: "argument invalid!",
    61010: "code is expired",
    87009: "invalid signature",
}

DEFAULT_PAGES = [
    "pages/index/index",
    "pages/repair/detail",
    "pages/lead/detail",
    "pages/referral/index",
    "pages/reward/index",
    "pages/complaint/detail",
]

# template id -> {keyword: type}; the type names are the §4 keyword types.
DEFAULT_TEMPLATES = {
    "TPL_REPAIR_STATUS": {
        "thing1": "thing",                        # repair item
        "character_string2": "character_string",  # work order number
        "phrase3": "phrase",                      # status
        "time4": "time",                          # updated at
        "thing5": "thing",                        # remark
    },
    "TPL_LEAD_ASSIGNED": {
        "name1": "name",                  # customer name
        "phone_number2": "phone_number",  # customer phone
        "thing3": "thing",                # project / building
        "time4": "time",                  # assigned at
    },
    "TPL_REFERRAL_STAGE": {
        "name1": "name",    # referred person
        "phrase2": "phrase",  # stage
        "thing3": "thing",  # project
        "date4": "date",    # updated on
        "thing5": "thing",  # remark
    },
    "TPL_REWARD": {
        "amount1": "amount",  # reward amount
        "thing2": "thing",    # reason
        "phrase3": "phrase",  # status
        "date4": "date",      # paid on
    },
    "TPL_COMPLAINT_STATUS": {
        "thing1": "thing",                        # type and category
        "character_string2": "character_string",  # complaint number
        "phrase3": "phrase",                      # status
        "time4": "time",                          # updated at
        "thing5": "thing",                        # remark
    },
}

# Response-shape quirks (§10.4); all off except the unknown extra field.
DEFAULT_QUIRKS = {
    "errcode_as_string": False,       # "errcode": "40029" instead of 40029
    "country_code_as_string": False,  # phone_info.countryCode "86"
    "label_as_string": False,         # msg_sec_check / media push labels "100"
    "create_time_as_string": False,   # pushed events: "CreateTime": "1700000000"
    "errcode_on_success": False,      # add errcode 0 to token/jscode2session successes
    "extra_fields": True,             # add "_fake": true to success bodies
    "qr_content_type": "image/png",   # Content-Type of QR success (body is PNG anyway)
}

# Real msgids are 19-digit int64 values, beyond a double's 2^53 exact range.
DEFAULT_MSGID_BASE = 2_100_000_000_000_000_000


def make_rid():
    """A request id like the real ' rid: 6437cc6f-48613c7c-0bdbbd0d' (first part = time)."""
    return f"{int(time.time()) & 0xFFFFFFFF:08x}-{secrets.token_hex(4)}-{secrets.token_hex(4)}"


@dataclass
class Config:
    appid: str = "wxfakeappid"
    secret: str = "fakesecret"
    token_ttl: float = 7200.0
    grace: float = 300.0
    push_url: str = ""
    push_token: str = "fakepushtoken"
    push_aes_key: str = ""  # EncodingAESKey (43 chars): pushes go in safe mode; "" = plaintext
    push_delay_ms: int = 100
    original_id: str = "gh_fakeoriginal"  # ToUserName of pushed events
    latency_ms: int = 0
    stable_daily_limit: int = 500000  # /cgi-bin/stable_token calls a day, then 45009
    force_daily_limit: int = 20       # forced refreshes a day, then 45009
    force_min_gap_s: float = 30.0     # a forced refresh sooner after the previous one is ignored
    msgid_base: int = DEFAULT_MSGID_BASE
    pages: list = field(default_factory=lambda: list(DEFAULT_PAGES))
    templates: dict = field(default_factory=lambda: copy.deepcopy(DEFAULT_TEMPLATES))
    quirks: dict = field(default_factory=lambda: dict(DEFAULT_QUIRKS))

    def public(self):
        """The config as JSON-able dict (for GET /__fake/config)."""
        return copy.deepcopy(self.__dict__)


@dataclass
class Request:
    method: str
    path: str
    query: dict     # name -> first value
    headers: dict
    raw_body: bytes
    json: object    # parsed body, or None when empty / not JSON
    json_ok: bool   # body parsed as JSON


@dataclass
class Reply:
    """A JSON object (obj) or raw bytes (body); JSON replies get finalised by the caller."""
    status: int = 200
    obj: dict = None
    body: bytes = b""
    content_type: str = "application/json; encoding=utf-8"
    headers: dict = field(default_factory=dict)


def wx_error(errcode, errmsg=None):
    return Reply(obj={"errcode": errcode, "errmsg": errmsg or ERRMSG.get(errcode, "error")})


@dataclass
class Token:
    value: str
    kind: str            # "token" (/cgi-bin/token) or "stable" (/cgi-bin/stable_token)
    issued_at: float
    expires_at: float
    valid_until: float = math.inf  # set when superseded: old token works for the grace window
    revoked: bool = False


@dataclass
class Failure:
    """One queued injection from POST /__fake/fail."""
    count: int
    errcode: object = None
    errmsg: str = None
    http_status: int = None
    delay_ms: int = 0
    body: bytes = None
    content_type: str = "text/plain; charset=utf-8"
    match: dict = None  # only calls whose JSON body (or query) holds these values

    @property
    def delay_only(self):
        return self.errcode is None and self.http_status is None and self.body is None

    def applies_to(self, req):
        """True when the call carries every key of `match` with that value, in
        its JSON body or its query (query values compare as text)."""
        body = req.json if req.json_ok and isinstance(req.json, dict) else {}
        for key, want in (self.match or {}).items():
            if key in body:
                if body[key] != want:
                    return False
            elif req.query.get(key) != str(want):
                return False
        return True


class State:
    """All mutable fake state. Callers hold self.lock around every access."""

    def __init__(self, config):
        self.lock = threading.RLock()
        self._defaults = copy.deepcopy(config)
        self.reset()

    def reset(self):
        self.config = copy.deepcopy(self._defaults)
        self.tokens = {}             # value -> Token
        self.token_seq = 0
        self.stable_current = None   # value of the current stable token
        self.stable_forced_at = None
        self.stable_forced_day = (None, 0)  # (date string, forced refreshes that day)
        self.stable_calls_day = (None, 0)   # (date string, stable_token calls that day)
        # stable_token outcomes: calls answered with a token, forced refreshes that
        # issued a new token, forced refreshes ignored (<30 s), calls refused 45009
        self.stable_stats = {"fetches": 0, "forced": 0, "force_ignored": 0, "quota_refused": 0}
        self.used_codes = set()      # js_codes consumed by successful logins
        self.used_phone_codes = set()
        self.known_openids = set()
        self.session_keys = {}       # openid -> rotated session_key
        self.quotas = {}             # (openid, template_id) -> remaining sends
        self.daily_quota = {}        # path -> remaining calls
        self.failures = {}           # path -> [Failure, ...] (FIFO)
        self.requests = []           # request log (WeChat API calls only)
        self.counts = {}             # path -> number of calls
        self.pushes = []             # outgoing pushes and their outcome
        self.msgid = self.config.msgid_base

    # ---- request log -------------------------------------------------------

    def record(self, req):
        entry = {
            "method": req.method,
            "path": req.path,
            "query": dict(req.query),
            "body": req.json if req.json_ok else (req.raw_body.decode("utf-8", "replace") or None),
            "headers": dict(req.headers),
            "ts": time.time(),
            "status": None,   # filled in once answered
            "errcode": None,
        }
        self.requests.append(entry)
        self.counts[req.path] = self.counts.get(req.path, 0) + 1
        return entry

    # ---- access tokens -----------------------------------------------------

    def issue_token(self, kind):
        now = time.time()
        self.token_seq += 1
        value = f"fake{self.token_seq}_{secrets.token_hex(64)}"  # ~140 chars, URL-safe
        self.tokens[value] = Token(value, kind, now, now + self.config.token_ttl)
        return self.tokens[value]

    def supersede_tokens(self, kind, keep):
        """Older tokens of this kind stay usable only for the grace window."""
        limit = time.time() + self.config.grace
        for tok in self.tokens.values():
            if tok.kind == kind and tok.value != keep:
                tok.valid_until = min(tok.valid_until, limit)

    def check_token(self, value):
        """0 if the token is usable, else the WeChat errcode."""
        tok = self.tokens.get(value)
        if tok is None or tok.revoked:
            return 40001
        cutoff = min(tok.expires_at, tok.valid_until)
        if time.time() >= cutoff:
            return 42001 if cutoff == tok.expires_at else 40001
        return 0

    def expire_tokens(self):
        now = time.time()
        for tok in self.tokens.values():
            tok.expires_at = min(tok.expires_at, now)

    def revoke_tokens(self, value=None):
        """Revokes every token, or only `value`; False if `value` is unknown."""
        if value is not None:
            tok = self.tokens.get(value)
            if tok is None:
                return False
            tok.revoked = True
            return True
        for tok in self.tokens.values():
            tok.revoked = True
        return True

    # ---- users ---------------------------------------------------------------

    def session_key(self, openid):
        """Fixed per (appid, openid) unless rotated through the control API."""
        if openid in self.session_keys:
            return self.session_keys[openid]
        digest = hashlib.sha256(f"{self.config.appid}:{openid}".encode()).digest()
        return base64.b64encode(digest[:16]).decode()

    def next_msgid(self):
        self.msgid += 1
        return self.msgid
