"""The budget tests' fixtures serve the conversation tests too."""

from tests.work.conftest import notices

__all__ = ["notices"]
