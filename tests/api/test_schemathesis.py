"""Property-based requests against the app's own OpenAPI: no server errors and no schema
violations, with each role's token (schemathesis strategies, driven by hypothesis)."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.api.conftest import Api

pytestmark = pytest.mark.slow
ROLES = ("case_handler", "portal", "planner", "operator")


def test_api_conforms_to_its_own_schema(api: Api) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", api.client.app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 10
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=25,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case: schemathesis.Case) -> None:
            for role in ROLES:
                case.headers = {
                    **(case.headers or {}),
                    "Authorization": f"Bearer {api.token(role)}",
                }
                # A cross-field rule (birth_year <= year of period_end) cannot be written in
                # JSON Schema, so "schema-valid data accepted" is not checked; server errors,
                # status codes, content types and response schemas are.
                case.call_and_validate(excluded_checks=[positive_data_acceptance])

        check()
