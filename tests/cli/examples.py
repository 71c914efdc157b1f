#!/usr/bin/env python3
"""examples.py - the EXAMPLES sections of the man pages, as shell commands.

    examples.py MANDIR        prints one example a line: PAGE<TAB>COMMAND
    examples.py check MANDIR  names every option of a crm tool in an example
                              that the tool does not know (exit 1)

An example is a .Dl line or a line of a .Bd -literal block (with \\e line
continuations joined); mdoc escapes are turned back into the characters a
reader types.
"""
import glob
import os
import re
import sys


def unescape(s):
    s = s.replace("\\(dq", '"').replace("\\&", "").replace("\\e", "\\")
    s = s.replace("\\-", "-").replace("\\(aq", "'")
    return s


def examples(path):
    out, inside, literal, pending = [], False, False, ""
    for line in open(path, encoding="utf-8"):
        line = line.rstrip("\n")
        if line.startswith(".Sh "):
            inside = line.strip() == ".Sh EXAMPLES"
            continue
        if not inside:
            continue
        if line.startswith(".Bd"):
            literal = True
            continue
        if line.startswith(".Ed"):
            literal = False
            continue
        if line.startswith(".Dl "):
            out.append(unescape(line[4:]))
            continue
        if literal and not line.startswith("."):
            text = unescape(line)
            if text.endswith("\\"):
                pending += text[:-1] + " "
                continue
            # A quoted string that goes on to the next line.
            if (pending + text).count('"') % 2:
                pending += text + "\n"
                continue
            out.append((pending + text).strip())
            pending = ""
    return out


def known_options(tool, cache={}):
    if tool not in cache:
        import subprocess
        out = subprocess.run([tool, "--complete-options"], capture_output=True, text=True).stdout
        cache[tool] = {o.rstrip("=") for o in out.split()}
    return cache[tool]


def check(ex):
    """Options a crm tool in ex does not know, as 'tool --opt' strings."""
    import shlex
    bad = []
    # Cron lines: the command after the five schedule fields.
    if re.match(r"^[0-9*/,-]+( [0-9*/,-]+){4} ", ex):
        ex = ex.split(" ", 5)[5]
    for seg in re.split(r"\|\||&&|\||;", ex):
        try:
            words = shlex.split(seg)
        except ValueError:
            continue
        words = [w for w in words if not re.match(r"^[A-Z_]+=", w)]
        if not words:
            continue
        tool = words[0]
        if tool == "crm" and len(words) > 1 and words[1] in (
                "import", "export", "dedupe", "score", "explain", "audit", "transcribe",
                "notify", "serve", "events", "key", "forget", "purge"):
            tool, words = "crm-" + words[1], words[1:]
        elif tool == "xargs" and len(words) > 1 and words[1].startswith("crm-"):
            words = words[1:]
            tool = words[0]
        if not tool.startswith("crm-"):
            continue
        opts = known_options(tool)
        for w in words[1:]:
            if w.startswith("--"):
                if w.split("=")[0] not in opts:
                    bad.append("%s %s" % (tool, w))
            elif re.match(r"^-[a-zA-Z]+$", w):
                for ch in w[1:]:
                    if "-" + ch not in opts:
                        bad.append("%s -%s" % (tool, ch))
    return bad


if sys.argv[1] == "check":
    status = 0
    for page in sorted(glob.glob(os.path.join(sys.argv[2], "*.[157]"))):
        for ex in examples(page):
            for b in check(ex):
                print("%s: '%s': %s is not an option" % (os.path.basename(page), ex, b))
                status = 1
    sys.exit(status)

for page in sorted(glob.glob(os.path.join(sys.argv[1], "*.[157]"))):
    for ex in examples(page):
        if ex:
            print("%s\t%s" % (os.path.basename(page), ex.replace("\n", " ")))
