"""Property-based fuzzing of every JSON route, driven by the app's own OpenAPI schema (Hypothesis).

For each ``/api`` route the schema lists, requests are drawn from the route's schema (bodies that are nearly
valid, with any JSON value swapped in anywhere), with path parameters from the whole integer line and from
arbitrary text, sent as the admin, an annotator, an expert or nobody. Two properties must hold for every
request: the server never answers 5xx (an unhandled error would also fail the test, since the test client
re-raises it), and a request it refuses (4xx) changes no row in any table.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import pytest
from sqlalchemy import func, select

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, example, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from oversight_lab.server.db import (  # noqa: E402
    Assignment,
    ChatMessage,
    Event,
    Item,
    Label,
    Participant,
    Revocation,
    WebSession,
)

from .conftest import ADMIN, Api  # noqa: E402

TABLES = (Label, Assignment, Item, Participant, ChatMessage, Event, WebSession, Revocation)
EXAMPLES_PER_ROUTE = 30  # x 14 routes: 420 requests, ~25 s on 2 shared cores

json_leaf = (st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=True)
             | st.text(max_size=30))
any_json = st.recursive(json_leaf, lambda inner: st.lists(inner, max_size=4)
                        | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=12)
hostile_text = st.sampled_from(["\x00", "a\x00b", "\u202e", "=1+1", "\ud800", "\x85", " ", "", "x" * 300])


def _resolve(schema: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def from_schema(schema: dict[str, Any], spec: dict[str, Any], depth: int = 0) -> st.SearchStrategy[Any]:
    """Values of ``schema``, often valid, sometimes any JSON at all (so every branch of validation runs)."""
    schema = _resolve(schema, spec)
    if depth > 4:
        return any_json
    if "anyOf" in schema:
        return st.one_of([from_schema(s, spec, depth + 1) for s in schema["anyOf"]])
    if "enum" in schema or "const" in schema:
        return st.sampled_from(schema.get("enum") or [schema["const"]])
    kind = schema.get("type")
    if kind == "object":
        props = schema.get("properties", {})
        fields = {k: st.one_of(from_schema(v, spec, depth + 1), any_json) for k, v in props.items()}
        return st.fixed_dictionaries({}, optional=fields) | st.fixed_dictionaries(
            {k: from_schema(v, spec, depth + 1) for k, v in props.items() if k in schema.get("required", [])},
            optional={"unexpected": any_json})
    if kind == "array":
        return st.lists(from_schema(schema.get("items", {}), spec, depth + 1), max_size=3)
    if kind == "string":
        return st.text(max_size=40) | hostile_text
    if kind == "integer":
        return st.integers(-4, 4) | st.integers(-(2**70), 2**70)
    if kind == "number":
        return st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from([0.5, 0.75, 1.0])
    if kind == "boolean":
        return st.booleans()
    return any_json


def json_routes(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(method.upper(), path, op) for path, ops in spec["paths"].items() if path.startswith("/api/")
            for method, op in ops.items()]


def row_counts(api: Api) -> tuple[int, ...]:
    with api.app.state.ctx.db.read() as s:
        return tuple(s.scalar(select(func.count()).select_from(t)) or 0 for t in TABLES)


@pytest.fixture
def fuzz_api(make_api: Any) -> tuple[Api, dict[str, str | None]]:
    api = make_api()
    people = {"admin": ADMIN, "annotator": api.invite(), "expert": api.invite("expert"), "nobody": None}
    api.invite(name="revocable")  # a0004: a real participant for the revoke route to hit
    for who in ("annotator", "expert"):  # open assignments, so small ids name real rows
        api.next(people[who])  # type: ignore[arg-type]
    return api, people


def test_schema_lists_every_json_route(fuzz_api: tuple[Api, dict[str, str | None]]) -> None:
    api, _ = fuzz_api
    routes = {(m, p) for m, p, _ in json_routes(api.app.openapi())}
    assert {("POST", "/api/assignments/{assignment_id}/label"), ("POST", "/api/admin/items"),
            ("POST", "/api/admin/participants/{participant_id}/revoke"), ("GET", "/api/admin/export/{name}"),
            ("POST", "/api/assignments/{assignment_id}/chat")} <= routes
    from oversight_lab.server.app import api as router

    registered = {(m, r.path) for r in router.routes for m in r.methods}  # type: ignore[attr-defined]
    assert routes == registered and len(routes) == 14


# One valid request per write route, always run first, so each route is seen accepting as well as refusing
# (assignment 1 is the annotator's, opened by the fixture).
VALID = {
    "POST /api/assignments/{assignment_id}/label": ("annotator", {"assignment_id": 1},
                                                    {"strength": -2, "confidence": 0.8, "rationale": "ok"}),
    "POST /api/admin/items": ("admin", {}, {"items": [{"task_id": "f", "prompt": "p", "answer_a": " a",
                                                       "answer_b": " b"}]}),
    "POST /api/admin/invites": ("admin", {}, {"role": "annotator", "name": "fuzz"}),
    "GET /api/admin/export/{name}": ("admin", {"name": "labels.csv"}, None),
}


def fuzz_route(api: Api, people: dict[str, str | None], spec: dict[str, Any], method: str, path: str,
               op: dict[str, Any], seen: dict[str, set[int]]) -> None:
    """Run ``EXAMPLES_PER_ROUTE`` drawn requests against one route, checking both properties on each."""
    params = {p["name"]: p["schema"] for p in op.get("parameters", []) if p["in"] == "path"}
    body_schema = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
    ints = st.sampled_from([1, 2]) | st.integers(-(2**70), 2**70) | st.integers(1, 40)
    texts = st.text(max_size=20) | hostile_text | st.sampled_from(["study", "labels.csv", "a0004"])
    path_values = st.fixed_dictionaries(
        {name: ints if _resolve(s, spec).get("type") == "integer" else texts for name, s in params.items()})
    body = from_schema(body_schema, spec) if body_schema else st.none()

    @settings(max_examples=EXAMPLES_PER_ROUTE, deadline=None, database=None, derandomize=True,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(who=st.sampled_from(sorted(people)), values=path_values, payload=body, raw=st.booleans())
    def one(who: str, values: dict[str, Any], payload: Any, raw: bool) -> None:
        url = path
        for name, v in values.items():
            url = url.replace("{" + name + "}", quote(str(v), safe="", errors="surrogatepass") or "x")
        headers = {"Authorization": f"Bearer {people[who]}"} if people[who] else {}
        content = json.dumps(payload) if payload is not None or raw else None
        if content is not None:
            headers["Content-Type"] = "application/json"
        before = row_counts(api)
        r = api.client.request(method, url, content=content, headers=headers)
        assert r.status_code < 500, (method, url, content, r.text[:300])
        if r.status_code >= 400:
            assert row_counts(api) == before, (method, url, content, r.status_code)
            assert "error" in r.json(), r.text[:300]
        seen.setdefault(f"{method} {path}", set()).add(r.status_code)

    if f"{method} {path}" in VALID:
        who, values, payload = VALID[f"{method} {path}"]
        one = example(who=who, values=values, payload=payload, raw=False)(one)
    one()


@pytest.mark.slow
def test_fuzz_every_json_route(fuzz_api: tuple[Api, dict[str, str | None]]) -> None:
    api, people = fuzz_api
    spec = api.app.openapi()
    seen: dict[str, set[int]] = {}
    for method, path, op in json_routes(spec):
        fuzz_route(api, people, spec, method, path, op, seen)
    assert len(seen) == len(json_routes(spec))
    for route in VALID:  # each route both accepted and refused requests
        assert min(seen[route]) < 300 and max(seen[route]) >= 400, (route, seen[route])
    assert all(len(codes) >= 2 for codes in seen.values()), seen
