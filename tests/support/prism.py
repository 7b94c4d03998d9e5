"""`prism_url`: a local mock of Twilio's REST API, generated from Twilio's own OpenAPI spec.

Prism (`npm ci` installs it) validates every request against the spec — paths, the account
SID pattern, required form fields, formats — and answers with the spec's examples, so the SMS
channel is exercised through the real `twilio` client against the real API contract.

Without Prism the tests that need it are skipped, except in CI (CI=true) where that fails.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRISM_BIN = ROOT / "node_modules" / ".bin" / "prism"
TWILIO_SPEC = (ROOT / "node_modules" / "@twilio-alpha" / "mcp" / "twilio-oai" / "spec" / "json"
               / "twilio_api_v2010.json")
STARTUP_TIMEOUT = 90.0  # the 2 MB spec takes a few seconds to load; CI machines are slow

# A syntactically valid account SID: Prism checks the `^AC[0-9a-fA-F]{32}$` pattern.
TEST_ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
TEST_AUTH_TOKEN = "test-auth-token"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _unavailable(message: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message + " (CI=true: not skipping)", pytrace=False)
    pytest.skip(message)


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1.0):
            return True
    except urllib.error.HTTPError:
        return True  # any HTTP answer (Prism says 404 for "/") means it is listening
    except OSError:
        return False


def _stop(proc: subprocess.Popen[bytes]) -> None:
    # Prism runs in its own session (see Popen below), so its process group id is its pid:
    # signalling that group reaches any helper it forked and nothing else.
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)
    except ProcessLookupError:
        return
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


@pytest.fixture(scope="session")
def prism_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL (http://127.0.0.1:PORT) of a Prism mock of Twilio's 2010-04-01 API."""
    if not PRISM_BIN.exists() or not TWILIO_SPEC.exists():
        _unavailable(f"Prism or the Twilio OpenAPI spec is not installed ({PRISM_BIN}, "
                     f"{TWILIO_SPEC}); run `npm ci` in {ROOT}")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = tmp_path_factory.mktemp("prism") / "prism.log"
    with log_path.open("wb") as log_file:
        proc = subprocess.Popen(
            [str(PRISM_BIN), "mock", "--host", "127.0.0.1", "--port", str(port), str(TWILIO_SPEC)],
            stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=ROOT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not _answers(url + "/"):
            if proc.poll() is not None or time.monotonic() > deadline:
                tail = log_path.read_text(errors="replace")[-2000:]
                # Installed but not working is a broken setup, never a reason to skip.
                pytest.fail(f"Prism did not start on {url} (exit code {proc.poll()}):\n{tail}",
                            pytrace=False)
            time.sleep(0.2)
        yield url
    finally:
        _stop(proc)
