"""Tidings: keeps many IMAP accounts in sync and serves them over gRPC."""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["__version__"]
