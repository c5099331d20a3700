"""The `lc` fixture: LangChain instrumented into the test's in-memory providers."""

from tests.langchain.test_langchain import lc  # noqa: F401 - shared fixture
