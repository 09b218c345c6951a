"""Errors of building and configuring a node (the composition root's tree)."""

from __future__ import annotations

from secureline.errors import SecurelineError


class NodeError(SecurelineError):
    """A node cannot be created, configured or started as asked."""

    code = "node_error"

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class ConfigError(NodeError):
    code = "invalid_config"
