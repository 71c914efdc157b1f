#!/usr/bin/env python3
"""A stand-in for Slack's incoming webhooks, on loopback.

    slack-receiver.py PORTFILE LOG [FAILURES [STATUS]]

POST /services/T000/B000/XXXX takes a JSON payload and checks it the way
Slack does: "text" or "blocks" present, blocks of known types, a header's
plain_text at most 150 characters, a section's text at most 3000, at most
10 fields. Good payloads get 200 "ok"; bad ones 400 "invalid_blocks".
The first FAILURES requests get STATUS (default 503; 429 comes with
Retry-After: 1). Each request's status and body go to LOG as a JSON line.
"""
import http.server
import json
import os
import sys

portfile, logfile = sys.argv[1:3]
failures = int(sys.argv[3]) if len(sys.argv) > 3 else 0
fail_status = int(sys.argv[4]) if len(sys.argv) > 4 else 503
seen = 0


def valid(p):
    if not isinstance(p, dict) or not (p.get("text") or p.get("blocks")):
        return False
    for b in p.get("blocks", []):
        t = b.get("type")
        if t == "header":
            if b["text"]["type"] != "plain_text" or len(b["text"]["text"]) > 150:
                return False
        elif t == "section":
            if "text" in b and len(b["text"]["text"]) > 3000:
                return False
            if "fields" in b and len(b["fields"]) > 10:
                return False
            if "text" not in b and "fields" not in b:
                return False
        elif t == "context":
            if not b.get("elements"):
                return False
        else:
            return False
    return True


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_POST(self):
        global seen
        seen += 1
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        try:
            payload = json.loads(body)
        except ValueError:
            payload = None
        if seen <= failures:
            status, reply = fail_status, b"busy"
        elif not self.path.startswith("/services/"):
            status, reply = 404, b"no_service"
        elif self.headers.get("Content-Type") != "application/json" or not valid(payload):
            status, reply = 400, b"invalid_blocks"
        else:
            status, reply = 200, b"ok"
        with open(logfile, "a") as log:
            log.write(json.dumps({"status": status, "payload": payload}) + "\n")
        self.send_response(status)
        if status == 429:
            self.send_header("Retry-After", "1")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)


server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
with open(portfile + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(portfile + ".tmp", portfile)
server.serve_forever()
