#!/usr/bin/python3
"""Local fake of the WeChat mini-program server API (see README.md).

    fake_wechat.py --host 127.0.0.1 --port 0 --port-file PATH [options]

With --port 0 a free port is bound and written to --port-file (atomically) once
the server is listening. Every option can also come from the environment as
FAKE_WECHAT_<OPTION> (e.g. FAKE_WECHAT_TOKEN_TTL=5); command-line values win.
"""

import argparse
import json
import os
import signal
import sys
import threading
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import fake_api
import fake_control
from fake_core import Config, Reply, Request, State
from fake_rules import normalize_template

MAX_BODY = 16 * 1024 * 1024


def _text_reply(status, text):
    return Reply(status=status, body=(text + "\n").encode(),
                 content_type="text/plain; charset=utf-8")


class FakeHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive; every reply carries Content-Length
    # Headers and body go out in two writes: with Nagle on, the body would wait
    # for the client's delayed ACK (~40 ms) on a reused connection.
    disable_nagle_algorithm = True
    errcode = None  # of the reply being sent, for the log line

    def version_string(self):
        return "fake_wechat"

    def handle(self):
        try:
            super().handle()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (e.g. its timeout fired during delay_ms)

    def _read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()  # CRLF after each chunk
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            raise ValueError("body too large")
        return self.rfile.read(length) if length > 0 else b""

    def _request(self):
        url = urlsplit(self.path)
        raw = self._read_body()
        query = {k: v[0] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        parsed, ok = None, False
        if raw.strip():
            try:
                parsed, ok = json.loads(raw.decode("utf-8")), True
            except ValueError:  # includes UnicodeDecodeError
                pass
        return Request(method=self.command, path=url.path, query=query,
                       headers=dict(self.headers.items()), raw_body=raw, json=parsed,
                       json_ok=ok)

    def _serve(self):
        try:
            req = self._request()
        except ValueError as exc:  # unreadable body framing: answer and drop the connection
            self.close_connection = True
            self._send(_text_reply(400, f"bad request: {exc}"))
            return
        state = self.server.state
        try:
            if req.path.startswith(fake_control.CONTROL_PREFIX):
                reply = fake_control.handle(state, req)
            else:
                reply = fake_api.handle(state, req)
        except Exception:  # a fake bug: answer 500 rather than dropping the connection
            traceback.print_exc()
            reply = _text_reply(500, "fake_wechat internal error")
        self._send(reply)

    def _send(self, reply):
        self.errcode = reply.obj.get("errcode") if reply.obj else None
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(reply.body)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve

    def log_request(self, code="-", size="-"):
        suffix = "" if self.errcode is None else f" errcode={self.errcode}"
        self.log_message('"%s" %s%s', self.requestline, code, suffix)

    def log_message(self, fmt, *args):
        if not self.server.quiet:
            sys.stderr.write(f"[fake_wechat] {self.address_string()} {fmt % args}\n")
            sys.stderr.flush()


class FakeServer(ThreadingHTTPServer):
    daemon_threads = True
    # listen() backlog: a dispatcher opens one connection per send in flight
    # (hundreds at once from several processes); a full backlog drops SYNs,
    # which the client retries only after a second.
    request_queue_size = 1024

    def __init__(self, address, state, quiet=False):
        self.state = state
        self.quiet = quiet
        super().__init__(address, FakeHandler)


# ---- configuration -------------------------------------------------------------

def _env(name, default):
    return os.environ.get("FAKE_WECHAT_" + name.upper(), default)


def parse_args(argv=None):
    defaults = Config()
    p = argparse.ArgumentParser(description="Local fake of the WeChat server API.")
    p.add_argument("--host", default=_env("host", "127.0.0.1"))
    p.add_argument("--port", type=int, default=int(_env("port", 0)),
                   help="0 = pick a free port (see --port-file)")
    p.add_argument("--port-file", default=_env("port_file", None),
                   help="write the bound port here once listening")
    p.add_argument("--appid", default=_env("appid", defaults.appid))
    p.add_argument("--secret", default=_env("secret", defaults.secret))
    p.add_argument("--token-ttl", type=float, default=float(_env("token_ttl", defaults.token_ttl)),
                   help="access_token lifetime in seconds")
    p.add_argument("--grace", type=float, default=float(_env("grace", defaults.grace)),
                   help="seconds a superseded token stays valid")
    p.add_argument("--push-url", default=_env("push_url", defaults.push_url),
                   help="gateway message-push URL (media_check_async results)")
    p.add_argument("--push-token", default=_env("push_token", defaults.push_token),
                   help="Token used to sign pushes")
    p.add_argument("--push-aes-key", default=_env("push_aes_key", defaults.push_aes_key),
                   help="EncodingAESKey (43 chars): pushes go in safe mode")
    p.add_argument("--push-delay-ms", type=int,
                   default=int(_env("push_delay_ms", defaults.push_delay_ms)))
    p.add_argument("--templates", default=_env("templates", None),
                   help="JSON file {template_id: {keyword: type}} added to the defaults")
    p.add_argument("--pages", default=_env("pages", None),
                   help="comma-separated released pages (replaces the defaults)")
    p.add_argument("--latency-ms", type=int, default=int(_env("latency_ms", 0)),
                   help="artificial latency added to every API call")
    p.add_argument("--quiet", action="store_true",
                   default=_env("quiet", "") not in ("", "0", "false"),
                   help="no per-request log lines")
    return p.parse_args(argv)


def build_config(args):
    cfg = Config(appid=args.appid, secret=args.secret, token_ttl=args.token_ttl,
                 grace=args.grace, push_url=args.push_url or "", push_token=args.push_token,
                 push_aes_key=args.push_aes_key or "", push_delay_ms=args.push_delay_ms,
                 latency_ms=args.latency_ms)
    if cfg.push_aes_key:
        import fake_push
        fake_push.aes_key_bytes(cfg.push_aes_key)  # ValueError: refused at start
    if args.pages:
        cfg.pages = [p.strip() for p in args.pages.split(",") if p.strip()]
    if args.templates:
        with open(args.templates, encoding="utf-8") as f:
            extra = json.load(f)
        if not isinstance(extra, dict):
            raise ValueError("templates file must hold a JSON object")
        for tid, spec in extra.items():
            cfg.templates[tid] = normalize_template(spec)
    return cfg


def write_port_file(path, port):
    """temp file + rename, so a reader never sees a partial number."""
    tmp = f"{path}.tmp.{os.getpid()}"
    with open(tmp, "w", encoding="ascii") as f:
        f.write(f"{port}\n")
    os.replace(tmp, path)


def main(argv=None):
    args = parse_args(argv)
    try:
        config = build_config(args)
    except (OSError, ValueError) as exc:
        sys.exit(f"fake_wechat: bad configuration: {exc}")
    server = FakeServer((args.host, args.port), State(config), quiet=args.quiet)
    port = server.server_address[1]

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    # serve_forever runs in a thread because shutdown() must be called from another one
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2},
                     name="fake-wechat-server", daemon=True).start()
    if args.port_file:
        write_port_file(args.port_file, port)
    print(f"[fake_wechat] listening on http://{args.host}:{port} appid={config.appid}",
          file=sys.stderr, flush=True)

    stop.wait()
    server.shutdown()
    server.server_close()
    if args.port_file:
        try:
            with open(args.port_file, encoding="ascii") as f:
                ours = f.read().strip() == str(port)
            if ours:
                os.unlink(args.port_file)
        except OSError:
            pass
    print("[fake_wechat] stopped", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
