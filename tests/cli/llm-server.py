#!/usr/bin/env python3
"""A stand-in for an OpenAI-compatible chat completions server, on loopback.

No language model runs here: this speaks the protocol - the request
(model, messages, response_format with a strict JSON schema) and the
reply (choices[0].message.content, finish_reason, usage), errors in
OpenAI's shape ({"error": {"message", "type", "param", "code"}}) - and
answers from simple patterns over the numbered utterances it is sent:
"[n] Speaker: text" lines; a line with "I'll" or "I will" and a verb is
an item, owned by the rep when its speaker is the rep the prompt names.

    llm-server.py PORTFILE LOG [KEY]

GET /v1/models lists the one model, as OpenAI's does (crm-doctor asks).

PORTFILE gets the port. LOG gets one JSON line per request: status,
model, auth, the response_format type and strictness, and the range of
utterance numbers shown. With KEY, a request without "Authorization:
Bearer KEY" gets 401. The model name picks a behaviour:

    stand-in            a valid answer
    invalid-utterance   an item citing utterance 9999
    bad-json            content that is not JSON
    bad-due             a due phrase nobody said, no date resolver reads
    refuse              a refusal, no content
    truncated           finish_reason "length"
    flaky               503 for the first request, then valid answers
    overloaded          429 (Retry-After: 0) every time
    fix-on-retry        an invalid answer, then a valid one when told why
    fenced              a valid answer in a code fence, with prose around it
    hostile             items and cues the cited utterances do not say, and the
                        instructions a transcript line gives obeyed
    small-context       400 context_length_exceeded for more than 2,500
                        characters of prompt, as a small local model does
    slow                a valid answer after 3 seconds
"""
import http.server
import json
import re
import sys
import time

portfile, logfile = sys.argv[1:3]
key = sys.argv[3] if len(sys.argv) > 3 else None
seen = {}

ITEM = re.compile(r"\b(I'll|I will|we'll|we will)\s+(?:\w+\s+){0,2}?(send|call|email|set|book|share|get|review|check|have|run|put|loop|build|do|draft|prepare)\b(.*)", re.I)
DUE = re.compile(r"\b(by|on|before)\s+(monday|tuesday|wednesday|thursday|friday|tomorrow)\b|\btomorrow\b|\btoday\b|\bnext week\b", re.I)
HES = re.compile(r"\b(not sure|maybe|budget|think about it|check with|next year|other vendors?)\b", re.I)


def analyse(user, mode):
    rep = None
    m = re.search(r"The rep is ([^.\n]+)\.", user)
    if m and m.group(1) != "the first speaker":
        rep = m.group(1).strip()
    lines = []
    for m in re.finditer(r"^\[(\d+)\] ([^:\n]*): (.*)$", user, re.M):
        lines.append((int(m.group(1)), m.group(2), m.group(3)))
    if rep is None and lines:
        rep = lines[0][1]
    items, cues, positive = [], [], 0
    for n, who, text in lines:
        for sentence in re.split(r"(?<=[.?!])\s+", text):
            im = ITEM.search(sentence)
            if im:
                due = DUE.search(sentence)
                items.append({"text": (im.group(2) + im.group(3)).strip(" .,"),
                              "owner": "rep" if who == rep else "customer",
                              "due_phrase": due.group(0) if due else None,
                              "utterance": n})
        if who != rep:
            hm = HES.search(text)
            if hm:
                cues.append({"cue": hm.group(0), "kind": "uncertainty", "utterance": n})
            positive += len(re.findall(r"\b(great|perfect|good|love|thanks)\b", text, re.I))
    if mode == "invalid-utterance" and items:
        items[0]["utterance"] = 9999
    elif mode == "invalid-utterance":
        items.append({"text": "send it", "owner": "rep", "due_phrase": None, "utterance": 9999})
    if mode == "bad-due" and items:
        items[0]["due_phrase"] = "when pigs fly"
    if mode == "hostile" and lines:
        items.append({"text": "Sign the contract and issue a $50,000 purchase order", "owner": "customer",
                      "due_phrase": "by Friday", "utterance": lines[0][0]})
        cues.append({"cue": "our budget is frozen", "kind": "budget", "utterance": lines[0][0]})
        for n, who, text in lines:
            m = re.search(r"create a task: (.*)", text, re.I)
            if m:
                items.append({"text": m.group(1), "owner": "rep", "due_phrase": None, "utterance": n})
    summary = " ".join(t for _, _, t in lines[:2])[:300]
    score = min(1.0, 0.35 * len(cues))
    return {"summary": summary, "action_items": items,
            "hesitation": {"hesitant": score >= 0.5, "score": score, "cues": cues},
            "sentiment": min(1.0, 0.2 * positive)}


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def reply(self, status, body, headers=()):
        # the log line is written before the answer, so a client that has
        # its answer finds its request in the log
        log = getattr(self, "log", None)
        if log is not None:
            log["status"] = status
            with open(logfile, "a") as f:
                f.write(json.dumps(log) + "\n")
            self.log = None
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def error(self, status, message, etype, code=None, param=None, headers=()):
        self.reply(status, {"error": {"message": message, "type": etype, "param": param, "code": code}}, headers)

    def do_GET(self):
        auth_ok = key is None or self.headers.get("Authorization") == "Bearer " + key
        self.log = {"path": self.path, "auth": auth_ok, "method": "GET"}
        if not self.path.endswith("/v1/models"):
            self.error(404, "Unknown request URL: GET " + self.path, "invalid_request_error", "unknown_url")
        elif not auth_ok:
            self.error(401, "Incorrect API key provided.", "invalid_request_error", "invalid_api_key")
        else:
            self.reply(200, {"object": "list", "data": [{"id": "stand-in", "object": "model",
                                                         "owned_by": "crm-tests"}]})

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        raw = self.rfile.read(n)
        auth_ok = key is None or self.headers.get("Authorization") == "Bearer " + key
        log = self.log = {"path": self.path, "auth": auth_ok}
        try:
            req = json.loads(raw)
        except ValueError:
            req = None
        status = 200
        if not self.path.endswith("/v1/chat/completions"):
            status = 404
            self.error(404, "Unknown request URL: POST " + self.path, "invalid_request_error", "unknown_url")
        elif not auth_ok:
            status = 401
            self.error(401, "Incorrect API key provided.", "invalid_request_error", "invalid_api_key")
        elif not isinstance(req, dict) or not isinstance(req.get("model"), str) or \
                not isinstance(req.get("messages"), list) or not req["messages"]:
            status = 400
            self.error(400, "'model' and 'messages' are required.", "invalid_request_error", None, "messages")
        else:
            rf = req.get("response_format") or {}
            js = rf.get("json_schema") or {}
            log.update(model=req["model"], response_format=rf.get("type"), strict=js.get("strict"),
                       schema=isinstance(js.get("schema"), dict), messages=len(req["messages"]))
            if rf.get("type") != "json_schema" or not isinstance(js.get("schema"), dict):
                status = 400
                self.error(400, "response_format must be a json_schema.", "invalid_request_error", None,
                           "response_format")
            else:
                status = self.answer(req, log)

    def answer(self, req, log):
        mode = req["model"]
        seen[mode] = seen.get(mode, 0) + 1
        if mode == "flaky" and seen[mode] == 1:
            self.error(503, "The server is overloaded.", "server_error")
            return 503
        if mode == "overloaded":
            self.error(429, "Rate limit reached.", "requests", "rate_limit_exceeded", headers=[("Retry-After", "0")])
            return 429
        user = next((m.get("content", "") for m in req["messages"] if m.get("role") == "user"), "")
        shown = [int(x) for x in re.findall(r"^\[(\d+)\]", user, re.M)]
        log["utterances"] = [min(shown), max(shown)] if shown else []
        retried = len(req["messages"]) > 2
        if mode == "slow":
            time.sleep(3)
        if mode == "small-context" and len(user) > 2500:
            self.error(400, "This model's maximum context length is 512 tokens.", "invalid_request_error",
                       "context_length_exceeded", "messages")
            return 400
        if mode == "fix-on-retry":
            mode = "stand-in" if retried else "invalid-utterance"
        message = {"role": "assistant", "content": None, "refusal": None}
        finish = "stop"
        if mode == "refuse":
            message["refusal"] = "I can't help with that."
        elif mode == "bad-json":
            message["content"] = "Sure! Here is the analysis: {summary: ...}"
        elif mode == "fenced":
            message["content"] = ("Here is the analysis you asked for:\n```json\n" +
                                  json.dumps(analyse(user, mode), indent=2) + "\n```\nAnything else?")
        else:
            message["content"] = json.dumps(analyse(user, mode))
            if mode == "truncated":
                message["content"] = message["content"][: len(message["content"]) // 2]
                finish = "length"
        self.reply(200, {"id": "chatcmpl-standin", "object": "chat.completion", "created": 0,
                         "model": req["model"],
                         "choices": [{"index": 0, "message": message, "finish_reason": finish}],
                         "usage": {"prompt_tokens": len(user) // 4, "completion_tokens": 50,
                                   "total_tokens": len(user) // 4 + 50}})
        return 200


srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(portfile, "w") as f:
    f.write(str(srv.server_address[1]))
srv.serve_forever()
