#!/usr/bin/env python3
"""The inspector's page in a real browser, and its metrics checked by promtool and scraped by a
real Prometheus server (issue 13).

usage: page_test.py SUPERVISED_WORKERS ARTEFACT_DIR

1. Runs examples/supervised_workers --inspect 127.0.0.1:0: its workers crash and the pool
   replaces them, which provokes the restart_storm lint; it keeps serving after its run.
2. Loads the page in headless Chromium (--dump-dom, polling mode) and checks the DOM: the live
   table was filled, the pool and its workers are rows, the header counts the actors, and the
   lint is listed against the pool. Saves a screenshot (ARTEFACT_DIR/inspector.png).
3. Checks /metrics with `promtool check metrics`, then starts a Prometheus server on a free
   port that scrapes the inspector (with the token) and asks it for what it scraped.
4. Interrupts the example, which must exit 0 with its invariant ok.
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse


sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from inspect_client import failer, get  # noqa: E402

fail = failer("inspector page test")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def chromium(*args):
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if not exe:
        fail("chromium is not installed (tools/bootstrap.sh installs it)")
    cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
           "--virtual-time-budget=5000"] + list(args)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def check_page(url, artefacts):
    page = url + "&live=poll"  # (an open event stream stops headless Chromium's virtual time)
    dom = chromium("--dump-dom", page).stdout
    with open(os.path.join(artefacts, "inspector-dom.html"), "w") as f:
        f.write(dom)
    if 'data-loaded="true"' not in dom:
        fail("the page never filled its actor table (dom saved in %s)" % artefacts)
    rows = re.findall(r'<tr class="actor[^"]*" data-id="(\d+)"', dom)
    names = re.findall(r'<td class="name[^"]*">([^<]*)<', dom)
    if "pool" not in names or names.count("worker") < 4:
        fail("the table does not show the pool and its workers: %r" % names[:10])
    running = re.search(r'id="running"[^>]*>(\d+)<', dom)
    if not running or int(running.group(1)) < 5:
        fail("the header does not count the pool and its 4 running workers: %r" % (running and running.group(1)))
    lint = re.search(r'<li class="lint" data-kind="restart_storm" data-actor="(\d+)"', dom)
    if not lint:
        fail("the restart storm lint is not listed")
    pool_id = rows[names.index("pool")] if len(rows) == len(names) else None
    if pool_id and lint.group(1) != pool_id:
        fail("the restart storm is listed against actor %s, not the pool (%s)" % (lint.group(1), pool_id))
    shot = os.path.join(artefacts, "inspector.png")
    chromium("--window-size=1440,1000", "--screenshot=" + shot, page + "#actor=" + lint.group(1))
    if not os.path.exists(shot) or os.path.getsize(shot) < 10000:
        fail("no screenshot")
    return len(rows)


def check_prometheus(base, token, work):
    status, metrics = get(base + "metrics", token)
    if status != 200:
        fail("/metrics answered %d" % status)
    promtool = shutil.which("promtool")
    prometheus = shutil.which("prometheus")
    if not promtool or not prometheus:
        fail("promtool or prometheus is not installed (tools/bootstrap.sh installs them)")
    check = subprocess.run([promtool, "check", "metrics"], input=metrics, capture_output=True, text=True, timeout=60)
    if check.returncode != 0:
        fail("promtool check metrics: %s%s" % (check.stdout, check.stderr))
    host_port = urllib.parse.urlparse(base).netloc
    config = os.path.join(work, "prometheus.yml")
    with open(config, "w") as f:
        f.write("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                "scrape_configs:\n  - job_name: troupe\n    authorization:\n      credentials: %s\n"
                "    static_configs:\n      - targets: ['%s']\n" % (token, host_port))
    port = free_port()
    server = subprocess.Popen([prometheus, "--config.file=" + config, "--storage.tsdb.path=" + os.path.join(work, "tsdb"),
                               "--web.listen-address=127.0.0.1:%d" % port, "--log.level=warn"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        query = "http://127.0.0.1:%d/api/v1/query?query=" % port
        deadline = time.monotonic() + 90  # (bounded: Prometheus starts, then scrapes once a second)
        value = None
        while time.monotonic() < deadline and value is None:
            if server.poll() is not None:
                fail("prometheus exited: " + server.stderr.read()[-500:])
            try:
                status, body = get(query + urllib.parse.quote('troupe_messages_processed_total{job="troupe"}'))
                result = json.loads(body)["data"]["result"] if status == 200 else []
                if result:
                    value = float(result[0]["value"][1])
            except (urllib.error.URLError, ConnectionError, KeyError, ValueError):
                pass
            if value is None:
                time.sleep(0.2)
        if value is None:
            fail("prometheus scraped nothing in 90 s")
        if value <= 0:
            fail("prometheus scraped troupe_messages_processed_total = %s" % value)
        status, body = get(query + urllib.parse.quote('up{job="troupe"}'))
        up = json.loads(body)["data"]["result"]
        if not up or up[0]["value"][1] != "1":
            fail("the scrape target is not up: %r" % up)
        status, body = get(query + urllib.parse.quote('troupe_actor_handler_seconds_count{job="troupe",actor="worker"}'))
        if not json.loads(body)["data"]["result"]:
            fail("prometheus has no handler histogram for the workers")
        return value
    finally:
        server.terminate()
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()


def main():
    if len(sys.argv) != 3:
        fail("usage: page_test.py SUPERVISED_WORKERS ARTEFACT_DIR")
    artefacts = sys.argv[2]
    os.makedirs(artefacts, exist_ok=True)
    work = tempfile.mkdtemp(prefix="troupe-inspector-")
    p = subprocess.Popen([sys.argv[1], "--inspect", "127.0.0.1:0", "--jobs", "20000", "--crash-per-mille", "10"],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    out = []
    done = threading.Event()

    def read_out():
        for line in p.stdout:
            out.append(line)
            if line.startswith("inspector: "):
                done.set()

    reader = threading.Thread(target=read_out, daemon=True)
    reader.start()
    try:
        if not done.wait(120):
            fail("the example did not finish its run: " + "".join(out[-5:]))
        m = re.search(r"inspector: (http://[^ ]+/)\?token=(\w+)", "".join(out))
        if not m:
            fail("no inspector address printed")
        base, token = m.group(1), m.group(2)
        rows = check_page(base + "?token=" + token, artefacts)
        scraped = check_prometheus(base, token, work)
        p.send_signal(signal.SIGINT)
        rc = p.wait(60)
    finally:
        if p.poll() is None:
            p.kill()
        shutil.rmtree(work, ignore_errors=True)
    reader.join(10)
    if rc != 0 or not re.search(r"invariant \(.*\): ok", "".join(out)):
        fail("the example exited with %d: %s" % (rc, "".join(out[-3:])))
    print("inspector page test: ok (%d actor rows, the restart storm lint shown, screenshot saved; promtool "
          "accepts /metrics; prometheus scraped %d messages processed)" % (rows, scraped))


main()
