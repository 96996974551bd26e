"""Fixtures of the client tests."""

from tests.support.fake_server import fake_server

__all__ = ["fake_server"]
