"""The README's Quick Start (examples/quickstart.py) runs Parlant's server on the service, twice."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from .conftest import Raw

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "quickstart.py"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def run_quickstart(cwd: Path) -> str:
    environment = {
        **os.environ,
        "PARLANT_PORT": str(free_port()),
        "PARLANT_TOOL_PORT": str(free_port()),
        "NO_COLOR": "1",
    }
    for variable in ("EMCIE_API_KEY", "OPENAI_API_KEY"):
        environment.pop(variable, None)
    result = subprocess.run(
        [sys.executable, str(EXAMPLE), "--once"],
        cwd=cwd,
        env=environment,
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout


def test_quickstart_runs_and_its_data_persists(tmp_path: Path, raw: Raw) -> None:
    first = run_quickstart(tmp_path)
    assert "Created session: " in first and "Sessions of test-customer in the service: 1" in first
    second = run_quickstart(tmp_path)
    assert "Sessions of test-customer in the service: 2" in second
    assert "Parlant's REST API listed them in 2 page(s) of 1 (total_count 2)" in second

    # In the service, not in Parlant's local files.
    assert [c["id"] for c in raw.all("customers", "customers")] == ["test-customer"]
    assert len(raw.all("sessions", "sessions")) == 2
    data = tmp_path / "parlant-data"
    assert not any(p.name.startswith(("sessions", "customers", "context_variables")) for p in data.glob("*"))
