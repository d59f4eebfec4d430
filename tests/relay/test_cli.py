"""``python -m cio_browser.relay`` as an operator runs it: a separate process, its whole output captured."""

from __future__ import annotations

import base64
import os
import re
import subprocess
import sys
from pathlib import Path

import httpx

from .conftest import API_KEY, ORIGIN, SITE_ID, entity

ROOT = Path(__file__).resolve().parents[2]


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CIO_")}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra)
    return env


def test_the_command_relays_and_no_output_line_holds_the_key_or_event_data(sink):
    env = _env(CIO_SITE_ID=SITE_ID, CIO_API_KEY=API_KEY, CIO_UPSTREAM=sink.url, CIO_ALLOWED_ORIGINS=ORIGIN,
               CIO_TIMEOUT="0.5")
    proc = subprocess.Popen([sys.executable, "-m", "cio_browser.relay", "--port", "0", "--log-level", "debug"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        url = re.search(r"listening on (http://\S+)", line).group(1)
        client = httpx.Client(base_url=url, headers={"origin": ORIGIN}, timeout=10)
        answers = [
            client.post("/api/v2/entity", json=entity(attributes={"email": "carol@example.org"})),
            client.request("PUT", "/api/v1/customers/carol%40example.org", json={"plan": "secret-plan"}),
            client.post("/events", json=[{"type": "track", "event": "Card Added", "userId": "carol@example.org",
                                          "messageId": "m-carol", "properties": {"last4": "4242"}}, "junk"]),
            client.post("/api/v2/entity", content=b"{", headers={"content-type": "application/json"}),
            client.post("/events", content=b"[not json"),
            client.get("/api/v2/entity"),
            client.post("/secret-admin"),
            client.post("/api/v2/entity", headers={"origin": "https://evil.example"}),
        ]
        sink.set_delay(1500)
        answers.append(client.post("/api/v2/entity", json=entity()))
        assert [a.status_code for a in answers] == [200, 200, 200, 400, 400, 405, 404, 403, 504]
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=10)
    output = line + out + err
    assert "POST /api/v2/entity 200" in output and "PUT /api/v1/customers/{id} 200" in output
    token = base64.b64encode(f"{SITE_ID}:{API_KEY}".encode()).decode()
    for secret in (API_KEY, token):
        assert secret not in output
        assert not any(secret in a.text or secret in str(a.headers) for a in answers)
    info = "\n".join(x for x in output.splitlines() if " DEBUG " not in x)
    for data in ("carol", "secret-plan", "Card Added", "4242", "m-carol"):
        assert data not in info, data
    assert sink.requests[0].credentials == "valid"


def test_a_bad_configuration_exits_2_listing_every_problem_without_the_key():
    result = subprocess.run([sys.executable, "-m", "cio_browser.relay", "--port", "0"], capture_output=True,
                            text=True, timeout=60, env=_env(CIO_API_KEY="key-in-a-bad-config", CIO_REGION="moon"))
    assert result.returncode == 2
    assert "CIO_SITE_ID is required" in result.stderr and "CIO_REGION 'moon'" in result.stderr
    assert "CIO_ALLOWED_ORIGINS is required" in result.stderr
    assert "key-in-a-bad-config" not in result.stderr + result.stdout
