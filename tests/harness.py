"""Running our binaries on free ports for the black-box tests (imported by conftest.py
and by test modules: `from harness import start_service, free_port`)."""
import os
import socket
import subprocess
import time

import requests


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A child process serving HTTP on 127.0.0.1:port, with its log captured."""

    def __init__(self, argv, port, env=None, health="/health"):
        self.port = port
        self.base = f"http://127.0.0.1:{port}"
        self.log_path = f"/tmp/artistry-test-{port}.log"
        self.log = open(self.log_path, "wb")
        full_env = dict(os.environ)
        full_env.update(env or {})
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT, env=full_env)
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{argv} exited with {self.proc.returncode}: {self.logs()}")
            try:
                if requests.get(self.base + health, timeout=1).status_code == 200:
                    return
            except requests.ConnectionError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"{argv} did not become healthy: {self.logs()}")

    def url(self, path):
        return self.base + path

    def logs(self):
        self.log.flush()
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")

    def stop(self, sig=15, timeout=20):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        return self.proc.returncode


def artistry_bin():
    return os.environ.get("ARTISTRY_BIN", "build/artistry")


def start_service(name, env=None, health="/health"):
    port = free_port()
    e = {"ARTISTRY_CONFIG_DIR": "/nonexistent"}
    e.update(env or {})
    return Server([artistry_bin(), "serve", name, "--port", str(port)], port, e, health)


def start_echo(env=None):
    port = free_port()
    return Server([os.environ.get("ECHO_BIN", "build/tests/http/http-echo-server"), str(port)],
                  port, env)
