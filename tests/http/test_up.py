"""artistry up: starts services, reports them, restarts a crashed one, stops all."""
import os
import re
import signal
import subprocess
import time

import requests

from harness import artistry_bin, free_port


def wait_for(pred, timeout=15):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if pred():
                return True
        except requests.ConnectionError:
            pass
        time.sleep(0.1)
    return False


def test_up_supervises_and_stops():
    port = free_port()
    env = {**os.environ, "GATEWAY_PORT": str(port), "ARTISTRY_CONFIG_DIR": "/nonexistent"}
    p = subprocess.Popen([artistry_bin(), "up", "--only", "gateway"], stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, env=env, text=True)
    try:
        lines = []
        while True:  # the table follows the health wait
            line = p.stdout.readline()
            assert line, "up exited early: " + "".join(lines)
            lines.append(line)
            if re.match(r"\s+gateway\s+%d\s+\d+\s+up\s" % port, line):
                break
        pid = int(line.split()[2])
        url = f"http://127.0.0.1:{port}/health"
        health = requests.get(url).json()
        assert (health["status"], health["service"]) == ("ok", "Gateway")

        os.kill(pid, signal.SIGKILL)  # a crash: up must restart it

        def down():
            try:
                requests.get(url, timeout=1)
                return False
            except requests.ConnectionError:
                return True
        assert wait_for(down)
        assert wait_for(lambda: requests.get(url, timeout=1).status_code == 200)
        p.send_signal(signal.SIGTERM)
        assert p.wait(timeout=30) == 0
        out = p.stdout.read()
        assert "msg=\"service exited\" service=gateway" in out
        assert "msg=\"restarted\" service=gateway" in out
        try:
            requests.get(url, timeout=1)
            assert False, "gateway still answering after up stopped"
        except requests.ConnectionError:
            pass
    finally:
        if p.poll() is None:
            p.kill()


def test_help_on_every_command():
    for cmd in (["--help"], ["serve", "--help"], ["up", "--help"], ["version", "--help"]):
        r = subprocess.run([artistry_bin()] + cmd, capture_output=True, text=True, timeout=10)
        assert r.returncode == 0 and "usage: artistry" in r.stdout, cmd
    r = subprocess.run([artistry_bin(), "serve", "nosuch"], capture_output=True, text=True)
    assert r.returncode == 2 and "no service named 'nosuch'" in r.stderr
    r = subprocess.run([artistry_bin(), "version"], capture_output=True, text=True)
    assert re.match(r"artistry \d+\.\d+\.\d+", r.stdout)
