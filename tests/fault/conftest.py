from tests.integration.conftest import probe_db, started  # noqa: F401 - shared fixtures
