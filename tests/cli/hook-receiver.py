#!/usr/bin/env python3
"""A webhook receiver on loopback, for crm-serve's deliveries.

    hook-receiver.py PORTFILE LOG [FAILURES [STATUS [DELAY]]]

Every POST is logged to LOG as a JSON line: path, the X-CRM-* headers,
the raw body and the status answered. The first FAILURES requests get
STATUS (default 503); every answer waits DELAY seconds first.
"""
import http.server
import json
import sys
import time

portfile, logfile = sys.argv[1:3]
failures = int(sys.argv[3]) if len(sys.argv) > 3 else 0
fail_status = int(sys.argv[4]) if len(sys.argv) > 4 else 503
delay = float(sys.argv[5]) if len(sys.argv) > 5 else 0
seen = 0


class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        global seen
        body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
        time.sleep(delay)
        seen += 1
        status = fail_status if seen <= failures else 200
        headers = {k: v for k, v in self.headers.items() if k.lower().startswith("x-crm-")}
        with open(logfile, "a") as f:
            f.write(json.dumps({"path": self.path, "status": status, "headers": headers,
                                "content_type": self.headers.get("Content-Type"), "body": body}) + "\n")
        self.send_response(status)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *a):
        pass


srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
with open(portfile + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
import os
os.rename(portfile + ".tmp", portfile)
srv.serve_forever()
