"""A property-based fuzzer (schemathesis) against the OpenAPI document, with every check it has
(``--checks all``): no request makes a 500; every response has a documented status, content type,
headers and schema; data the document allows is accepted and data it forbids is refused;
authentication is enforced; methods the document does not list answer 405 with ``Allow``. Each
operation is called signed in as each main role, in the examples, coverage and fuzzing phases
(positive and negative data), a few examples each."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import Case, GenerationMode
from schemathesis.generation.hypothesis.builder import (
    HypothesisTestConfig,
    HypothesisTestMode,
    create_test,
)
from schemathesis.generation.overrides import Override

from consult.actors import Role
from tests.web.conftest import CSRF, World, make_world

#: The main roles, each a persona of the test world.
ROLES = {
    Role.RESIDENT: "resident",
    Role.OWNERS_COMMITTEE: "oc",
    Role.RESIDENTS_COMMITTEE: "rc",
    Role.TELLER: "teller_a",
    Role.PROPERTY_COMPANY: "pm",
    Role.STREET: "street",
}


@pytest.fixture(scope="module")
def fuzz_world(tmp_path_factory: pytest.TempPathFactory, module_store_url: str) -> Iterator[World]:
    world = make_world(Path(tmp_path_factory.mktemp("fuzz")), module_store_url)
    world.voting()
    world.motion("resident")
    yield world
    world.close()


@pytest.fixture(scope="module")
def api_schema(fuzz_world: World) -> Any:
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", fuzz_world.web)
    schema.config.checks.update(included_check_names=["all"])
    schema.config.phases.update(phases=["examples", "coverage", "fuzzing"])
    schema.config.generation.update(modes=list(GenerationMode))
    return schema


@pytest.fixture(scope="module")
def sessions(fuzz_world: World) -> dict[str, str]:
    """Each main role's session cookie (the test world's CSRF token goes with every one)."""
    cookies = {}
    for persona in ROLES.values():
        client = fuzz_world.client(persona)
        assert client.get("/api/v1/session").json["signed_in"]
        cookie = client.get_cookie("consult_session")
        assert cookie is not None
        cookies[persona] = cookie.value
    return cookies


@pytest.mark.slow
def test_the_api_keeps_its_document(api_schema: Any, sessions: dict[str, str]) -> None:
    failures: list[str] = []
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) > 40
    for persona, cookie in sessions.items():
        signed_in = Override(headers={"X-CSRF-Token": CSRF}, cookies={"consult_session": cookie})
        for operation in operations:
            test = create_test(
                operation=operation,
                test_func=_caller(cookie),
                config=HypothesisTestConfig(
                    project=api_schema.config,
                    modes=list(HypothesisTestMode),
                    settings=settings(
                        max_examples=3,
                        deadline=None,
                        suppress_health_check=list(HealthCheck),
                        derandomize=True,
                        database=None,
                    ),
                    override=signed_in,
                ),
            )
            try:
                test()
            except Exception as error:  # every operation's failures, then report them all
                failures.append(f"{persona} {operation.label}: {error}")
            except BaseExceptionGroup as group:  # schemathesis's FailureGroup
                failures.append(f"{persona} {operation.label}: {group}")
    assert failures == [], "\n\n".join(failures)


def _caller(cookie: str) -> Callable[[Case], None]:
    # The cookie also as a header: schemathesis then counts the session as the caller's own
    # (not generated), and checks that a request without it, or with another, is refused.
    headers = {"X-CSRF-Token": CSRF, "Cookie": f"consult_session={cookie}"}

    def call(case: Case) -> None:
        case.call_and_validate(headers=headers, cookies={"consult_session": cookie})

    return call
