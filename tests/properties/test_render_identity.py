"""Render identity (the fingerprint) ignores labels and names, and nothing else.

Through the real path (a spec file on disk, `prepare`, the requests it makes):
hypothesis draws a JoggAI video's title, its name template and one edit of a
field that changes the picture. A new title or a new name leaves every
fingerprint as it was (a label change, a move: docs/design.md, "Labels" and
"Moves"); the edit changes that video's fingerprint and no other's. And every
request's fingerprint is ``fingerprint_of`` its recorded inputs without the
provider's labels, the identity moves and legacy entries are matched on.

Checked able to fail: with ``label_fields`` emptied in ``traits.JOGG`` the title
property fails at once; with the name put in the inputs the rename one does.
"""

from __future__ import annotations

import copy
import json
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from reelform.plan.fingerprint import Request, fingerprint_of, requests_for
from reelform.project import prepare
from reelform.registry import provider_traits

PROPERTY = settings(max_examples=40, deadline=None)

#: What YAML (JSON here) holds and a template leaves as it is: no braces.
TEXT = st.text(
    st.characters(exclude_categories=["Cc", "Cs", "Cn"], exclude_characters="{}%#"),
    min_size=1,
    max_size=12,
).filter(lambda t: t.strip() == t and t.strip())
NAME = st.from_regex(r"[a-z][a-z0-9-]{0,10}", fullmatch=True)

#: Edits of fields that change the picture: (where, value). Each differs from the base.
EDITS = st.sampled_from(
    [
        (("voice", "script"), "Another script, {{ row.id }}"),
        (("voice", "voice_id"), "other-voice"),
        (("avatar", "id"), 12),
        (("aspect",), "square"),
        (("captions",), False),
        (("screen_style",), 3),
    ]
)


def spec(name: str = "welcome-", title: str | None = "Hello") -> dict[str, Any]:
    video: dict[str, Any] = {
        "name": name + "{{ row.id }}",
        "for_each": "rows",
        "voice": {"script": "Hello number {{ row.id }}", "voice_id": "v1"},
        "avatar": {"id": 81},
        "aspect": "portrait",
        "captions": True,
        "screen_style": 1,
    }
    if title is not None:
        video["title"] = title + " {{ row.id }}"
    return {
        "version": 1,
        "provider": "jogg",
        "providers": {"jogg": {"api_version": "v2"}},
        "data": {"rows": "rows.csv"},
        "defaults": {"avatar": {"id": 81}, "voice": {"voice_id": "v1"}},
        "videos": [video, {"name": "fixed", "voice": {"script": "Always the same."}}],
    }


def requests(document: dict[str, Any]) -> list[Request]:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "rows.csv").write_text("id\n1\n2\n", encoding="utf-8")
        path = root / "spec.yaml"
        path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
        prepared = prepare(path)
        return list(requests_for(prepared.spec, prepared.facts))


def identities(document: dict[str, Any]) -> list[str]:
    return [r.fingerprint for r in requests(document)]


BASE = identities(spec())


@PROPERTY
@given(st.none() | TEXT)
def test_a_title_is_not_part_of_the_render(title: str | None) -> None:
    assert identities(spec(title=title)) == BASE


@PROPERTY
@given(NAME)
def test_a_name_is_not_part_of_the_render(name: str) -> None:
    assert identities(spec(name=name)) == BASE


@PROPERTY
@given(EDITS, st.none() | TEXT, NAME)
def test_any_other_field_is(
    edit: tuple[tuple[str, ...], Any], title: str | None, name: str
) -> None:
    where, value = edit
    document = copy.deepcopy(spec(name=name, title=title))
    node = document["videos"][0]
    for key in where[:-1]:
        node = node[key]
    node[where[-1]] = value
    edited = identities(document)
    assert edited[0] != BASE[0] and edited[1] != BASE[1]  # both rows of the edited video
    assert edited[2] == BASE[2]  # the other video is untouched


@PROPERTY
@given(st.none() | TEXT, NAME)
def test_the_fingerprint_is_the_inputs_without_the_labels(title: str | None, name: str) -> None:
    for request in requests(spec(name=name, title=title)):
        labels = provider_traits(request.provider).label_fields
        assert request.fingerprint == fingerprint_of(request.inputs, labels)
        if title is not None and request.name != "fixed":
            assert request.inputs["title"].startswith(title)  # recorded, not hashed
