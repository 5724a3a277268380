#!/usr/bin/env python3
"""Confirms (or rejects) a staff console login ticket as the mini-program
would: logs in through the fake WeChat's magic code C_<openid>, then calls
POST /api/v1/console/tickets/{ticket}/scan and .../confirm (or .../reject)
with the bearer token (console-api.md, "Trying it with the fake WeChat").

    tools/console_confirm.py TICKET
    tools/console_confirm.py --openid o_demo_supervisor TICKET
    tools/console_confirm.py --reject TICKET

The gateway's URL and CA certificate come from var/run.env (make run), or
--url and --ca-cert. The openid must hold a staff role (the demo staff do;
`make grant OPENID=... ROLE=...` gives one)."""
import argparse
import json
import os
import ssl
import sys
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_env():
    values = {}
    path = os.path.join(ROOT, "var", "run.env")
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                k, _, v = line.strip().partition("=")
                values[k] = v
    return values


def call(url, ctx, method, path, token=None, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url + path, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, context=ctx, timeout=30) as r:
            return json.load(r)["data"]
    except urllib.error.HTTPError as e:
        err = json.load(e).get("error", {})
        sys.exit(f"{method} {path}: {e.code} {err.get('code')}: {err.get('message')}")


def main():
    env = run_env()
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("ticket")
    p.add_argument("--openid", default="o_demo_admin")
    p.add_argument("--reject", action="store_true")
    p.add_argument("--url", default=env.get("GATEWAY_URL", "https://127.0.0.1:8443"))
    p.add_argument("--ca-cert", default=env.get("CA_CERT", os.path.join(ROOT, "var", "tls.crt")))
    args = p.parse_args()
    ctx = ssl.create_default_context(cafile=args.ca_cert)
    token = call(args.url, ctx, "POST", "/api/v1/auth/login", body={"code": f"C_{args.openid}"})["token"]
    scan = call(args.url, ctx, "POST", f"/api/v1/console/tickets/{args.ticket}/scan", token)
    b = scan["browser"]
    print(f"browser {b['ip_masked']} {b['user_agent']}")
    action = "reject" if args.reject else "confirm"
    d = call(args.url, ctx, "POST", f"/api/v1/console/tickets/{args.ticket}/{action}", token)
    print(f"ticket {d['ticket']}: {d['state']}")


if __name__ == "__main__":
    main()
