"""A property-based fuzzer (schemathesis) against the OpenAPI document: no request makes a 500,
and every response has a documented status and matches its documented schema."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from consult.actors import Role
from tests.web.conftest import CSRF, World, make_world


@pytest.fixture(scope="module")
def fuzz_world(tmp_path_factory: pytest.TempPathFactory, module_store_url: str) -> Iterator[World]:
    world = make_world(Path(tmp_path_factory.mktemp("fuzz")), module_store_url)
    world.voting()
    world.motion("resident")
    world.accounts["operator"] = world.services.accounts.create(
        "web-operator", "operator-pass-1", "op-1", "平台管理员", [Role.OPERATOR], None
    )
    yield world
    world.close()


@pytest.fixture(scope="module")
def signed_in(fuzz_world: World) -> dict[str, str]:
    client = fuzz_world.client("operator")
    client.get("/api/v1/session")
    cookie = client.get_cookie("consult_session")
    assert cookie is not None
    return {"Cookie": f"consult_session={cookie.value}", "X-CSRF-Token": CSRF}


@pytest.mark.slow
def test_the_api_never_fails_with_a_server_error(
    fuzz_world: World, signed_in: dict[str, str]
) -> None:
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", fuzz_world.web)
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @settings(
            max_examples=12,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def run(case: Any) -> None:
            case.call_and_validate(
                headers=signed_in,
                checks=[not_a_server_error, status_code_conformance, response_schema_conformance],
            )

        try:
            run()
        except Exception as error:  # collect every operation's failure, then report them all
            failures.append(f"{operation.label}: {error}")
    assert operations > 40
    assert failures == [], "\n\n".join(failures)
