"""Messages for a daemon that went away (issue 11, point 12): no TLS hint where TLS cannot be."""

from __future__ import annotations

from tui.service.connection import explain_connect_error


def test_a_reset_unix_socket_is_a_daemon_that_went_away() -> None:
    reset = ConnectionResetError(104, "Connection reset by peer")
    text = explain_connect_error(reset, host="unix:///var/run/docker.sock")
    assert "TLS" not in text
    assert "stop or restart" in text


def test_a_daemon_that_answered_before_and_closes_is_not_asking_for_tls() -> None:
    reset = ConnectionResetError(104, "Connection reset by peer")
    assert "TLS" not in explain_connect_error(reset, host="tcp://build:2375", connected=True)


def test_a_first_tcp_connection_closed_at_once_still_suggests_tls() -> None:
    reset = ConnectionResetError(104, "Connection reset by peer")
    assert "may require TLS" in explain_connect_error(reset, host="tcp://build:2375")
