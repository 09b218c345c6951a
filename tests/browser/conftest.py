"""The browser tests run real nodes, like the integration tests, and Debian's chromium."""

from tests.integration.conftest import federation_factory, pair, session_dir

__all__ = ["federation_factory", "pair", "session_dir"]
