from __future__ import annotations

import pytest

import callboard
from callboard.cli import main


def test_every_error_derives_from_the_root() -> None:
    error = callboard.ConfigError("limit_requests must be > 0, got 0", field="limit_requests")
    assert isinstance(error, callboard.CallboardError)
    assert isinstance(error, ValueError)
    assert error.field == "limit_requests"


def test_cli_without_command_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 0
    assert "usage: callboard" in capsys.readouterr().out


def test_cli_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc_info:
        main(["--version"])
    assert exc_info.value.code == 0
    assert callboard.__version__ in capsys.readouterr().out
