#!/usr/bin/env python3
"""An example run with --inspect serves the inspector (issue 13).

usage: serve_check.py [--expect-metric NAME] [--server] EXAMPLE [ARGS...]

Starts EXAMPLE --inspect 127.0.0.1:0 ARGS, takes the inspector's address from the line the
system logs at start, checks that a request without the token gets 401, that /api/actors lists
the example's actors and /metrics answers (with NAME above 0). Then it waits for the end of the
run, after which the example keeps serving (it prints "inspector: ADDRESS"), and interrupts it
(Ctrl-C): it must exit 0 with its invariant ok. With --server, the example is a server that runs
until interrupted: it is interrupted at once.
"""
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time


sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from inspect_client import failer, get  # noqa: E402

fail = failer("inspector serve check")


def main():
    args = sys.argv[1:]
    expect = []
    server = False
    while args and args[0] in ("--expect-metric", "--server"):
        if args[0] == "--server":
            server = True
            args = args[1:]
        else:
            expect.append(args[1])
            args = args[2:]
    if not args:
        fail("usage: serve_check.py [--expect-metric NAME] [--server] EXAMPLE [ARGS...]")
    cmd = [args[0], "--inspect", "127.0.0.1:0"] + args[1:]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    found = threading.Event()
    address = {}
    err_lines, out_lines = [], []

    def read_err():
        for line in p.stderr:
            err_lines.append(line)
            m = re.search(r"troupe inspector: (http://[^/ ]+/)\?token=([0-9a-zA-Z]+)", line)
            if m and not found.is_set():
                address["base"], address["token"] = m.group(1), m.group(2)
                found.set()

    finished = threading.Event()  # the run is over; the example serves until interrupted

    def read_out():
        for line in p.stdout:
            out_lines.append(line)
            if line.startswith("inspector: "):
                finished.set()

    readers = [threading.Thread(target=read_err, daemon=True), threading.Thread(target=read_out, daemon=True)]
    for t in readers:
        t.start()
    try:
        if not found.wait(60):
            fail("no inspector address logged; stderr: " + "".join(err_lines[-5:]))
        base, token = address["base"], address["token"]
        status, body = get(base + "api/actors")
        if status != 401 or body:
            fail("a request without the token got %d %r" % (status, body[:80]))
        # The example's actors appear as its run goes (bounded wait for the other process).
        deadline = time.monotonic() + 60
        actors = []
        while time.monotonic() < deadline:
            status, body = get(base + "api/actors", token)
            if status != 200:
                fail("/api/actors answered %d" % status)
            actors = json.loads(body)["actors"]
            if actors:
                break
            time.sleep(0.1)
        if not actors:
            fail("/api/actors listed no actor in 60 s")
        status, body = get(base + "metrics", token)
        if status != 200 or "troupe_messages_processed_total" not in body:
            fail("/metrics answered %d" % status)
        for name in expect:  # (a counter the example must have moved by now)
            m = re.search(r"^%s (\d+)$" % re.escape(name), body, re.M)
            if not m or int(m.group(1)) == 0:
                fail("/metrics has no %s above 0" % name)
        if not server and not finished.wait(120):
            fail("the run did not end in 120 s (no \"inspector: \" line)")
        p.send_signal(signal.SIGINT)
        rc = p.wait(120)
    finally:
        if p.poll() is None:
            p.kill()
    for t in readers:
        t.join(10)  # (they end as the pipes close)
    out = "".join(out_lines)
    if rc != 0:
        fail("the example exited with %d; stdout: %s" % (rc, out[-300:]))
    if "invariant" in out and not re.search(r"invariant \(.*\): ok", out):
        fail("the invariant did not hold: " + out[-300:])
    print("inspector serve check: ok (%d actors listed, 401 without the token, /metrics served)" % len(actors))


main()
