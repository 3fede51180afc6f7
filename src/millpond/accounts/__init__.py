"""Accounts, API tokens (stored hashed) and the four permission kinds."""

from millpond.accounts.registry import DEFAULT_ACCOUNT, NewToken, Principal, Registry
from millpond.accounts.tokens import KINDS, Permission

__all__ = ["DEFAULT_ACCOUNT", "KINDS", "NewToken", "Permission", "Principal", "Registry"]
