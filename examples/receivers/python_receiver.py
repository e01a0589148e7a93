#!/usr/bin/env python3
"""A depositd callback receiver with the Python standard library only.

    DEPOSITD_CALLBACK_SECRET=... PORT=3000 python3 python_receiver.py
"""
import hashlib
import hmac
import json
import os
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SECRET = os.environ["DEPOSITD_CALLBACK_SECRET"].encode()
TOLERANCE_S = 300

seen_events = set()  # use your database in a real shop: a unique key on the event id
last_seq = {}  # order id -> highest seq processed
lock = threading.Lock()  # requests are handled on several threads


def verify(raw: bytes, header: str) -> bool:
    """Depositd-Signature: t=<unix s>,v1=<hex>[,v1=<hex>] = HMAC-SHA256(secret, b"<t>." + raw body)."""
    t = None
    sigs = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isdigit():
            t = value
        elif key == "v1" and re.fullmatch(r"[0-9a-f]{64}", value):
            sigs.append(value)
    if t is None or not sigs or abs(time.time() - int(t)) > TOLERANCE_S:
        return False
    expected = hmac.new(SECRET, t.encode() + b"." + raw, hashlib.sha256).hexdigest()
    return any(hmac.compare_digest(expected, s) for s in sigs)


class Receiver(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))  # the raw bytes, unparsed
        if not verify(raw, self.headers.get("Depositd-Signature", "")):
            self.reply(400, b"bad signature")
            return
        event = json.loads(raw)
        with lock:
            self.apply(event)
        self.reply(200, b"ok")

    def apply(self, event):
        if event["id"] not in seen_events:  # a duplicate still gets 2xx, or it is retried
            seen_events.add(event["id"])
            order_id = (event.get("order") or {}).get("id")
            seq = event.get("seq")
            if not (order_id and seq is not None and seq <= last_seq.get(order_id, 0)):
                if order_id and seq is not None:
                    last_seq[order_id] = seq
                status = (event.get("order") or {}).get("status")
                print(json.dumps({"received": event["id"], "type": event["type"], "seq": seq, "status": status}), flush=True)

    def reply(self, code: int, body: bytes):
        self.send_response(code)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    server = ThreadingHTTPServer((os.environ.get("HOST", "127.0.0.1"), int(os.environ.get("PORT", "3000"))), Receiver)
    host, port = server.server_address[:2]
    print(f"listening on http://{host}:{port}/", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        sys.exit(0)
