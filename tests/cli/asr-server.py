#!/usr/bin/env python3
"""A stand-in for an OpenAI-compatible speech server, on loopback.

POST /v1/audio/transcriptions takes multipart/form-data (file, model,
response_format) and answers verbose_json whose segments are the lines of
SEGMENTS, two seconds each. Usage:

    asr-server.py PORTFILE SEGMENTS LOG [FAILURES] [KEY]

PORTFILE gets the port it listens on. LOG gets one line per request:
"status path model auth-ok bytes". The first FAILURES requests get 503.
With KEY, a request without "Authorization: Bearer KEY" gets 401.
"""
import http.server
import json
import sys

portfile, segfile, logfile = sys.argv[1:4]
failures = int(sys.argv[4]) if len(sys.argv) > 4 else 0
key = sys.argv[5] if len(sys.argv) > 5 else None
seen = 0


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        global seen
        seen += 1
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n)
        ctype = self.headers.get("Content-Type", "")
        auth_ok = key is None or self.headers.get("Authorization") == "Bearer " + key
        model = ""
        marker = b'name="model"\r\n\r\n'
        if marker in body:
            model = body.split(marker, 1)[1].split(b"\r\n", 1)[0].decode()
        wav = b'name="file"' in body and b"RIFF" in body
        if not self.path.endswith("/v1/audio/transcriptions"):
            status = 404
        elif seen <= failures:
            status = 503
        elif not auth_ok:
            status = 401
        elif "multipart/form-data" not in ctype or not wav or b"verbose_json" not in body:
            status = 400
        else:
            status = 200
        with open(logfile, "a") as log:
            log.write(f"{status} {self.path} {model} {int(auth_ok)} {n}\n")
        if status != 200:
            self.reply(status, {"error": {"message": f"status {status}"}})
            return
        with open(segfile) as f:
            lines = [l.strip() for l in f if l.strip()]
        segs = [{"id": i, "start": 2.0 * i, "end": 2.0 * i + 1.8, "text": " " + l}
                for i, l in enumerate(lines)]
        self.reply(200, {"task": "transcribe", "language": "english",
                         "duration": 2.0 * len(lines),
                         "text": " ".join(lines), "segments": segs})


server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
with open(portfile + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
import os
os.rename(portfile + ".tmp", portfile)
server.serve_forever()
