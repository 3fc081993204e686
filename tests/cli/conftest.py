from tests.runtime.support import isolated, reg  # noqa: F401 - fixtures
