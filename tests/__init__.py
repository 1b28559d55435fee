import pytest

# Helpers in tests/plugins assert too; rewrite them for readable failures.
pytest.register_assert_rewrite("tests.plugins")
