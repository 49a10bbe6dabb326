from __future__ import annotations

import pytest

from tests.reliability.server import LiveServer


@pytest.fixture
def live(settings, world, tmp_path):
    """A real `youthvoice serve` on the test database; the `world` users exist in it."""
    server = LiveServer(settings, tmp_path / "var")
    server.var_dir.mkdir()
    server.start()
    yield server
    server.stop()
