"""Shared pytest fixtures for the black-box tests; the machinery is in harness.py."""
import pytest

from harness import start_echo, start_service


@pytest.fixture(scope="module")
def gateway():
    s = start_service("gateway")
    yield s
    s.stop()


@pytest.fixture(scope="module")
def echo():
    s = start_echo({"HTTP_MAX_BODY": "1M", "HTTP_MAX_PART": "256k"})
    yield s
    s.stop()
