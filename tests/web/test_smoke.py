from tests.web.conftest import World


def test_world_builds_and_pages_render(world: World) -> None:
    case, vote = world.voting()
    c = world.client("resident")
    assert c.get("/").status_code == 200
    assert c.get(f"/cases/{case}").status_code == 200
    assert c.get(f"/votes/{vote}").status_code == 200
