#!/usr/bin/env python3
"""http-probe.py - raw HTTP/1.1 requests the way a smuggler or a stalled
client sends them, for tests/cli/0113-http-framing.t.

    http-probe.py PORT TOKEN frame NAME   one malformed request: prints the
                                          status, whether the connection was
                                          closed after it and the seconds it took
    http-probe.py PORT TOKEN idle N M     open N idle connections, then make
                                          M real requests from the same
                                          address: prints how many got a 200
"""
import socket
import sys
import time

PORT, TOKEN, MODE = int(sys.argv[1]), sys.argv[2], sys.argv[3]
AUTH = "Authorization: Bearer %s\r\n" % TOKEN


def body_req(extra, body=b"{}", host=True):
    head = "POST /v1/contacts HTTP/1.1\r\n"
    if host:
        head += "Host: 127.0.0.1\r\n"
    head += AUTH + "Content-Type: application/json\r\n" + extra + "\r\n"
    return head.encode("latin-1") + body


FRAMES = {
    "two-lengths": body_req("Content-Length: 2\r\nContent-Length: 40\r\n"),
    "length-and-chunked": body_req("Content-Length: 2\r\nTransfer-Encoding: chunked\r\n",
                                   b"0\r\n\r\nGET /v1/contacts HTTP/1.1\r\nHost: x\r\n\r\n"),
    "bare-cr": body_req("X-Note: a\rb\r\nContent-Length: 2\r\n"),
    "no-host": body_req("Content-Length: 2\r\n", host=False),
    "unknown-coding": body_req("Transfer-Encoding: gzip\r\n", b""),
    "huge-length": body_req("Content-Length: 99999999999\r\n", b"{}"),
    "bad-length": body_req("Content-Length: 2x\r\n"),
    "good": body_req("Content-Length: 2\r\n"),
}


def frame(name):
    s = socket.create_connection(("127.0.0.1", PORT), timeout=30)
    t0 = time.time()
    s.sendall(FRAMES[name])
    data = b""
    closed = False
    s.settimeout(3)
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                closed = True
                break
            data += chunk
            if b"\r\n\r\n" in data:
                head, _, rest = data.partition(b"\r\n\r\n")
                n = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        n = int(line.split(b":")[1])
                if len(rest) >= n:
                    # The answer is whole: is the connection closed after it?
                    s.settimeout(1)
                    try:
                        closed = s.recv(1) == b""
                    except socket.timeout:
                        closed = False
                    break
    except socket.timeout:
        pass
    secs = time.time() - t0
    status = data.split(b" ")[1].decode() if data.startswith(b"HTTP/") else "none"
    print(status, "closed" if closed else "open", "%.1f" % secs)


def idle(n, m):
    held = []
    for _ in range(n):
        try:
            held.append(socket.create_connection(("127.0.0.1", PORT), timeout=5))
        except OSError:
            break
    time.sleep(0.5)
    ok = 0
    for _ in range(m):
        try:
            s = socket.create_connection(("127.0.0.1", PORT), timeout=5)
            s.sendall(("GET /v1/me HTTP/1.1\r\nHost: x\r\n" + AUTH + "Connection: close\r\n\r\n").encode())
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
            if data.startswith(b"HTTP/1.1 200"):
                ok += 1
            s.close()
        except OSError:
            pass
    # Then each held connection asks once: is it still open?
    kept = 0
    for s in held:
        try:
            s.settimeout(5)
            s.sendall(("GET /v1/me HTTP/1.1\r\nHost: x\r\n" + AUTH + "\r\n").encode())
            if s.recv(64).startswith(b"HTTP/1.1 200"):
                kept += 1
        except OSError:
            pass
    print(ok, kept)
    for s in held:
        s.close()


if MODE == "frame":
    frame(sys.argv[4])
else:
    idle(int(sys.argv[4]), int(sys.argv[5]))
