#!/usr/bin/env python3
"""Drive headless Chromium over the DevTools protocol, for the page test.

    cdp.py URL TOKEN SCREENSHOT.png

Opens URL#token=TOKEN, waits for the top leads, clicks the first one with
real mouse events (pressed and released at its centre, through the
browser's input pipeline), waits for its factors and next action, then
creates a task due today through the API and waits for the page to show
it from the event stream. Prints what it saw as JSON and saves a
screenshot. Only the standard library: a small WebSocket client is here.
"""
import base64
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

url, token, shot = sys.argv[1:4]


class WS:
    def __init__(self, ws_url):
        m = re.match(r"ws://([^/:]+):(\d+)(/.*)", ws_url)
        self.s = socket.create_connection((m.group(1), int(m.group(2))))
        key = base64.b64encode(os.urandom(16)).decode()
        self.s.sendall(("GET %s HTTP/1.1\r\nHost: %s:%s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                        "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n"
                        % (m.group(3), m.group(1), m.group(2), key)).encode())
        head = b""
        while b"\r\n\r\n" not in head:
            head += self.s.recv(1)
        if b" 101 " not in head.split(b"\r\n")[0]:
            raise RuntimeError("websocket handshake: %r" % head)
        self.buf = b""
        self.next_id = 0
        self.events = []

    def _read(self, n):
        while len(self.buf) < n:
            chunk = self.s.recv(65536)
            if not chunk:
                raise RuntimeError("devtools closed the connection")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def recv(self):
        data = b""
        while True:
            b0, b1 = self._read(2)
            n = b1 & 127
            if n == 126:
                n = int.from_bytes(self._read(2), "big")
            elif n == 127:
                n = int.from_bytes(self._read(8), "big")
            data += self._read(n)
            if b0 & 0x80:
                return json.loads(data)

    def send(self, method, **params):
        self.next_id += 1
        msg = json.dumps({"id": self.next_id, "method": method, "params": params}).encode()
        mask = os.urandom(4)
        n = len(msg)
        head = bytes([0x81]) + (bytes([0x80 | n]) if n < 126 else bytes([0x80 | 126]) + n.to_bytes(2, "big")
                                if n < 65536 else bytes([0x80 | 127]) + n.to_bytes(8, "big"))
        self.s.sendall(head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(msg)))
        while True:
            r = self.recv()
            if r.get("id") == self.next_id:
                if "error" in r:
                    raise RuntimeError("%s: %s" % (method, r["error"]))
                return r.get("result", {})
            self.events.append(r)

    def js(self, expr):
        r = self.send("Runtime.evaluate", expression=expr, returnByValue=True, awaitPromise=True)
        return r.get("result", {}).get("value")

    def wait(self, expr, timeout=15):
        t0 = time.time()
        while time.time() - t0 < timeout:
            v = self.js(expr)
            if v:
                return v
            time.sleep(0.1)
        raise RuntimeError("timed out waiting for: " + expr)


profile = tempfile.mkdtemp(prefix="crm-chromium.")
browser = subprocess.Popen(
    ["chromium", "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
     "--disable-extensions", "--disable-background-networking", "--remote-debugging-port=0",
     "--user-data-dir=" + profile, "about:blank"],
    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
result = {}
try:
    port = None
    t0 = time.time()
    while time.time() - t0 < 30:
        line = browser.stderr.readline()
        m = re.search(r"DevTools listening on ws://127.0.0.1:(\d+)/", line)
        if m:
            port = m.group(1)
            break
    if not port:
        raise RuntimeError("chromium did not start")
    pages = json.load(urllib.request.urlopen("http://127.0.0.1:%s/json/list" % port))
    ws = WS([p for p in pages if p["type"] == "page"][0]["webSocketDebuggerUrl"])
    ws.send("Page.enable")
    ws.send("Runtime.enable")
    ws.send("Emulation.setDeviceMetricsOverride", width=1280, height=900, deviceScaleFactor=1, mobile=False)
    t0 = time.time()
    ws.send("Page.navigate", url=url + "/#token=" + token)
    n = ws.wait("document.querySelectorAll('#leads .lead').length")
    result["load_ms"] = round(1000 * (time.time() - t0))
    result["leads"] = n
    result["first_lead"] = ws.js("document.querySelector('#leads .lead .name').textContent")
    result["reasons"] = ws.js("document.querySelectorAll('#leads .lead')[0].querySelectorAll('.why li').length")
    # What a rep reads of every lead: its score, its name, its reasons.
    result["scores"] = ws.js("JSON.stringify([...document.querySelectorAll('#leads .lead .score')].map(e => e.textContent))")
    result["names"] = ws.js("JSON.stringify([...document.querySelectorAll('#leads .lead .name')].map(e => e.textContent))")
    result["why"] = ws.js("JSON.stringify([...document.querySelectorAll('#leads .lead')].map(l => [...l.querySelectorAll('.why li')].map(e => e.textContent)))")
    result["calls"] = ws.wait("document.querySelectorAll('#calls .call').length && "
                              "JSON.stringify([...document.querySelectorAll('#calls .call .sub')].map(e => e.textContent))")
    result["address"] = ws.js("location.href")
    result["who"] = ws.wait("document.getElementById('who').textContent")
    result["live"] = ws.wait("document.getElementById('live').className === 'on' && 'on'")
    rect = ws.js("JSON.stringify(document.querySelectorAll('#leads .lead')[0].getBoundingClientRect())")
    r = json.loads(rect)
    x, y = r["x"] + r["width"] / 2, r["y"] + r["height"] / 2
    ws.send("Input.dispatchMouseEvent", type="mouseMoved", x=x, y=y)
    ws.send("Input.dispatchMouseEvent", type="mousePressed", x=x, y=y, button="left", clickCount=1)
    ws.send("Input.dispatchMouseEvent", type="mouseReleased", x=x, y=y, button="left", clickCount=1)
    result["action"] = ws.wait("(document.getElementById('action') || {}).textContent")
    result["factors"] = ws.js("document.querySelectorAll('#detail .factor').length")
    result["detail"] = ws.js("document.getElementById('detail-body').textContent")
    result["selected"] = ws.js("document.querySelectorAll('#leads .lead.sel').length")
    # Live: a task made now, due today, appears without a reload.
    lead = ws.js("document.querySelectorAll('#leads .lead')[0].dataset.id")
    title = "Call back about the pilot %d" % os.getpid()
    due = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))
    req = urllib.request.Request(url + "/v1/tasks", method="POST",
                                 data=json.dumps({"title": title, "contact_id": lead, "due_at": due}).encode(),
                                 headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"})
    urllib.request.urlopen(req).read()
    t0 = time.time()
    result["live_task"] = bool(ws.wait("document.getElementById('tasks').textContent.indexOf(%s) >= 0" % json.dumps(title)))
    result["live_ms"] = round(1000 * (time.time() - t0))
    png = ws.send("Page.captureScreenshot", format="png")
    with open(shot, "wb") as f:
        f.write(base64.b64decode(png["data"]))
    result["errors"] = [e["params"]["exceptionDetails"]["text"] for e in ws.events
                        if e.get("method") == "Runtime.exceptionThrown"]
finally:
    browser.kill()
    browser.wait()
    shutil.rmtree(profile, ignore_errors=True)
print(json.dumps(result))
