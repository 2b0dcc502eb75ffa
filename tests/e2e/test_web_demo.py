"""`hashi demo --web`: the scripted incident, then its page on the web dashboard until interrupted."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import aiohttp
import pytest

from tests.e2e.serving import REPO_ROOT

# `python -m bot ARGS`, with Ctrl-C as a terminal delivers it. A child inherits an ignored SIGINT, and Python
# then leaves it ignored: pytest started as a background job of a shell without job control (`cmd &` in a
# script, as some CI runners do) has SIGINT ignored, and the demo never stopped (its main task still waiting,
# signal.getsignal(SIGINT) == SIG_IGN from its first line). So the child puts Python's handler back first.
AS_FROM_A_TERMINAL = (
    "import runpy, signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
    "sys.argv[0] = 'hashi'; runpy.run_module('bot', run_name='__main__', alter_sys=True)"
)


@pytest.mark.slow
async def test_demo_web_prints_the_incident_page_and_serves_until_interrupted(tmp_path: Path) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", AS_FROM_A_TERMINAL, "demo", "--web", "--db", str(tmp_path / "demo.db"),
        cwd=str(tmp_path), env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert process.stdout is not None
    try:
        address = ""
        while not address.startswith("http://127.0.0.1:"):
            line = await asyncio.wait_for(process.stdout.readline(), timeout=60)
            assert line, "the demo ended without printing its page's address"
            address = line.decode().strip()
        assert address.endswith("/incidents/1")
        async with aiohttp.ClientSession() as http, http.get(address) as page:
            assert page.status == 401 and "Sign in with Slack" in await page.text()  # members only
    finally:
        process.send_signal(signal.SIGINT)
        await asyncio.wait_for(process.wait(), timeout=20)
    assert process.returncode in (0, 130)
