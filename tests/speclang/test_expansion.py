"""Structure-aware templating: rows, vars, includes, the sandbox, `when`, defaults."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from reelform.speclang import render
from reelform.speclang.expand import MAX_REPEATS, load_spec, merge
from reelform.speclang.interpolation import Interpolation
from reelform.speclang.template_errors import PathFailure


def videos(tree, text: str, **variables: str) -> list[Any]:
    tree.spec(text)
    return [v.video for v in load_spec(Path("spec.yaml"), variables).videos]


def test_data_never_becomes_yaml_syntax(tree) -> None:
    tree.write("data/rows.csv", 'id,text\n1,"key: value, {a: b}"\n2,{{ vars.x }}\n3,"- item\n#c"\n')
    result = videos(
        tree,
        """
        version: 1
        data: {rows: data/rows.csv}
        videos:
          - {name: "v{{ row.id }}", for_each: rows, voice: {script: "{{ row.text }}"}}
    """,
    )
    assert [v.voice.script for v in result] == ["key: value, {a: b}", "{{ vars.x }}", "- item\n#c"]


def test_context_row_vars_loop_and_spec_name(tree) -> None:
    result = videos(
        tree,
        """
        version: 1
        name: demo
        vars: {greeting: Hi}
        data: {langs: [{code: en}, {code: de}]}
        videos:
          - name: "{{ spec.name }}-{{ loop.index }}-{{ row.code }}"
            for_each: langs
            voice: {script: "{{ vars.greeting }} {{ row.code | upper }}"}
            title: "{{ spec.name }}"
    """,
    )
    assert [(v.name, v.voice.script, v.title) for v in result] == [
        ("demo-1-en", "Hi EN", "demo"),
        ("demo-2-de", "Hi DE", "demo"),
    ]


def test_a_video_without_for_each_has_an_empty_row(tree) -> None:
    [video] = videos(
        tree,
        "version: 1\nvideos:\n  - {name: 'a{{ loop.index }}', "
        "voice: {script: '{{ row | length }}'}}\n",
    )
    assert (video.name, video.voice.script) == ("a1", "0")


def test_var_overrides_win_over_vars(tree) -> None:
    [video] = videos(
        tree,
        "version: 1\nvars: {who: A}\nvideos:\n"
        "  - {name: a, voice: {script: 'hi {{ vars.who }}'}}\n",
        who="B",
    )
    assert video.voice.script == "hi B"


def test_undefined_column_with_suggestion_and_row(tree, check) -> None:
    tree.write("data/p.csv", "id,first_name\n1,Ann\n")
    tree.spec("""
        version: 1
        data: {p: data/p.csv}
        videos:
          - {name: "v{{ row.id }}", for_each: p, voice: {script: "Hi {{ row.frist_name }}"}}
    """)
    assert check(Path("spec.yaml")) == [
        "spec.yaml:4:58: 'dict object' has no attribute 'frist_name'; did you mean "
        "'first_name'? (template line 1) (row data/p.csv:2)"
    ]


def test_undefined_variable_lists_the_row(tree, check) -> None:
    tree.write("data/p.csv", "id,name\n1,Ann\n")
    tree.spec("""
        version: 1
        data: {p: data/p.csv}
        videos:
          - {name: "v{{ row.id }}", for_each: p, voice: {script: "{{ row.zzz }}"}}
    """)
    assert check(Path("spec.yaml")) == [
        "spec.yaml:4:58: 'dict object' has no attribute 'zzz' (row has: id, name) "
        "(template line 1) (row data/p.csv:2)"
    ]


def test_undefined_name_outside_row(tree, check) -> None:
    tree.spec("version: 1\nvideos:\n  - {name: a, voice: {script: '{{ nope }}'}}\n")
    assert check(Path("spec.yaml")) == ["spec.yaml:3:31: 'nope' is undefined (template line 1)"]


def test_template_syntax_error_with_template_line(tree, check) -> None:
    tree.spec(
        "version: 1\nvideos:\n  - name: a\n    voice:\n      script: |\n"
        "        line one\n        {{ row.x\n"
    )
    assert check(Path("spec.yaml")) == [
        "spec.yaml:5:15: template syntax: unexpected end of template, expected "
        "'end of print statement'. (template line 2)"
    ]


def test_includes_from_templates_beside_and_above(tree) -> None:
    tree.write("specs/templates/near.j2", "near {{ row.n }}")
    tree.write("templates/far.j2", "far {{ vars.v }}")
    tree.write(
        "specs/spec.yaml",
        """
        version: 1
        vars: {v: V}
        data: {r: [{n: 1}]}
        videos:
          - name: a
            for_each: r
            voice: {script: "{% include 'near.j2' %} / {% include 'far.j2' %}"}
    """,
    )
    spec = load_spec(Path("specs/spec.yaml"))
    assert spec.videos[0].video.voice.script == "near 1 / far V"
    assert {p.name for p in spec.dependencies} >= {"near.j2", "far.j2", "spec.yaml"}


def test_a_template_beside_the_spec_wins(tree) -> None:
    tree.write("specs/templates/t.j2", "near")
    tree.write("templates/t.j2", "far")
    tree.write(
        "specs/spec.yaml",
        "version: 1\nvideos:\n  - {name: a, voice: {script: \"{% include 't.j2' %}\"}}\n",
    )
    assert load_spec(Path("specs/spec.yaml")).videos[0].video.voice.script == "near"


def test_missing_include(tree, check) -> None:
    tree.spec("version: 1\nvideos:\n  - {name: a, voice: {script: \"{% include 'x.j2' %}\"}}\n")
    assert check(Path("spec.yaml")) == [
        "spec.yaml:3:31: template 'x.j2' not found in templates/ or ../templates/ (template line 1)"
    ]


def test_error_inside_an_included_template_names_it(tree, check) -> None:
    tree.write("templates/t.j2", "ok\n{{ vars.missing }}\n")
    tree.spec("version: 1\nvideos:\n  - {name: a, voice: {script: \"{% include 't.j2' %}\"}}\n")
    [line] = check(Path("spec.yaml"))
    assert line.startswith("spec.yaml:3:31: 'dict object' has no attribute 'missing'")
    assert line.endswith("(template templates/t.j2 line 2)")


@pytest.mark.parametrize(
    "expression",
    [
        "{{ ''.__class__ }}",
        "{{ row.__class__.__mro__ }}",
        "{{ vars.__init__.__globals__ }}",
        "{{ cycler.__init__.__globals__.os }}",
        "{{ ().__class__.__base__.__subclasses__() }}",
    ],
)
def test_sandbox(tree, check, expression: str) -> None:
    tree.write(
        "spec.yaml", f'version: 1\nvideos:\n  - name: a\n    voice:\n      script: "{expression}"\n'
    )
    [line] = check(Path("spec.yaml"))
    assert line.startswith("spec.yaml:5:15: ")
    assert "unsafe" in line or "undefined" in line, line


@pytest.mark.parametrize(
    ("when", "kept"),
    [
        ("true", ["a", "b"]),
        ("false", []),
        ("'{{ row.on }}'", ["a"]),
        ("\"{{ row.on == 'yes' }}\"", ["a"]),
        ("'{{ loop.index > 1 }}'", ["b"]),
    ],
)
def test_when(tree, when: str, kept: list[str]) -> None:
    result = videos(
        tree,
        f"""
        version: 1
        data: {{r: [{{n: a, on: "yes"}}, {{n: b, on: "no"}}]}}
        videos:
          - {{name: "{{{{ row.n }}}}", for_each: r, when: {when}, voice: {{script: x}}}}
    """,
    )
    assert [v.name for v in result] == kept


def test_when_garbage(tree, check) -> None:
    tree.spec("""
        version: 1
        data: {r: [{on: maybe}]}
        videos:
          - {name: a, for_each: r, when: "{{ row.on }}", voice: {script: x}}
    """)
    assert check(Path("spec.yaml")) == [
        "spec.yaml:4:34: `when` must render true or false, got 'maybe' (row spec.yaml:2)"
    ]


def test_defaults_deep_merge(tree) -> None:
    [video] = videos(
        tree,
        """
        version: 1
        defaults:
          avatar: {id: 12, type: custom}
          voice: {voice_id: v1}
          aspect: landscape
          captions: true
        videos:
          - {name: a, voice: {script: hi}, captions: false}
    """,
    )
    assert video.avatar is not None and (video.avatar.id, video.avatar.type) == (12, "custom")
    assert (video.voice.voice_id, video.voice.script) == ("v1", "hi")
    assert (video.aspect, video.captions) == ("landscape", False)


def test_defaults_alternatives_replace_each_other() -> None:
    defaults = {
        "avatar": {"id": 81, "type": "custom"},
        "voice": {"type": "script", "script": "hi", "voice_id": "v"},
    }
    video = {"avatar": {"photo": "me"}, "voice": {"audio": "intro"}}
    assert merge(defaults, video) == {
        "avatar": {"photo": "me"},
        "voice": {"audio": "intro", "voice_id": "v"},
    }
    assert merge({"avatar": {"photo": "me"}}, {"avatar": {"id": 1}}) == {"avatar": {"id": 1}}
    assert merge({"voice": {"audio": "a"}}, {"voice": {"script": "s"}}) == {
        "voice": {"script": "s"}
    }


def test_defaults_alternatives_through_a_spec(tree, media) -> None:
    tree.write("p.png", media["png"](600, 600))
    tree.write("a.wav", media["wav"](1))
    [video] = videos(
        tree,
        """
        version: 1
        assets: {p: p.png, a: a.wav}
        avatars: {me: {image: p, voice_id: v}}
        defaults: {avatar: {id: 81}, voice: {script: default text, voice_id: v}}
        videos:
          - {name: a, avatar: {photo: me}, voice: {audio: a}}
    """,
    )
    assert video.avatar is not None
    assert (video.avatar.id, video.avatar.photo) == (None, "me")
    assert (video.voice.script, video.voice.audio) == (None, "a")


def test_templates_compile_once_per_spec_not_per_row(tree, monkeypatch) -> None:
    tree.write("data/r.csv", "id\n" + "".join(f"{i}\n" for i in range(50)))
    calls: list[str] = []
    original = render.SandboxedEnvironment.from_string

    def counting(self, source, *args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(source)
        return original(self, source, *args, **kwargs)

    monkeypatch.setattr(render.SandboxedEnvironment, "from_string", counting)
    result = videos(
        tree,
        """
        version: 1
        data: {r: data/r.csv}
        videos:
          - {name: "a-{{ row.id }}", for_each: r, voice: {script: "{{ row.id | int + 1 }}"}}
          - {name: "b-{{ row.id }}", for_each: r, voice: {script: "{{ row.id | int + 1 }}"}}
    """,
    )
    assert len(result) == 100
    assert result[-1].voice.script == "50"
    # Pure lookups ("a-{{ row.id }}") are not Jinja templates at all; the rest compiles
    # once per distinct string, not once per row or per video entry.
    assert calls == ["{{ row.id | int + 1 }}"]


@pytest.mark.parametrize(
    "source",
    [
        "welcome-{{ row.id }}",
        "{{row.id}}",
        "Hi {{ row.name }},\nline {{ loop.index }}\n",
        "{{ vars.company }} / {{ spec.name }}",
        "{{ row.missing }}",
        "{{ row.items }}",
        "a\r\nb {{ row.id }}\r\n",
        "{{ row.id }}{{ row.n }}",
        "{{ row.name == 'Ann' }}",
        "{{ row.name != 'Ann' }}",
        '{{ row.id == "7" }}',
        "x {{ row.n == 'None' }} {{ loop.index == '3' }}",
        "{{ row.gone == 'yes' }}",
    ],
)
def test_pure_lookups_render_exactly_as_jinja_does(source: str) -> None:
    """The fast path for pure interpolations gives Jinja's output and Jinja's error."""
    env, _ = render.make_environment(Path("."))
    fast = render.compile_tree(source, env)
    assert isinstance(fast, Interpolation) == ("row.items" not in source)  # dict method
    slow = render.Templated((), source, env.from_string(source))
    context = render.row_context(
        env,
        {
            "row": {"id": 7, "name": "Ann", "n": None},
            "vars": {"company": "Acme"},
            "loop": {"index": 3},
            "spec": {"name": "s"},
        },
    )

    def outcome(node: Any) -> str:
        try:
            return "ok: " + node.render(context)
        except PathFailure as exc:
            return "error: " + exc.failure.describe()

    assert outcome(fast) == outcome(slow)


def test_repeated_errors_are_capped(tree, check) -> None:
    tree.write("data/r.csv", "id\n" + "".join(f"{i}\n" for i in range(10)))
    tree.spec("""
        version: 1
        data: {r: data/r.csv}
        videos:
          - {name: "a-{{ row.id }}", for_each: r, voice: {script: "{{ row.nope }}"}}
    """)
    lines = check(Path("spec.yaml"))
    assert len(lines) == MAX_REPEATS + 1
    assert lines[-1].endswith(f"(and {10 - MAX_REPEATS} more rows)")
    assert "(row data/r.csv:2)" in lines[0]


def test_var_from_the_command_line_is_a_string(tree) -> None:
    [video] = videos(
        tree,
        "version: 1\nvideos:\n  - {name: a, voice: {script: x}, "
        "screen_style: '{{ vars.s }}', captions: '{{ vars.c }}'}\n",
        s="3",
        c="no",
    )
    assert (video.screen_style, video.captions) == (3, False)


def test_row_hint_only_for_the_row(tree, check) -> None:
    tree.spec("""
        version: 1
        data: {r: [{id: "1"}]}
        videos:
          - {name: a, for_each: r, voice: {script: "{{ row.id.nope }}"}}
    """)
    assert check(Path("spec.yaml")) == [
        "spec.yaml:4:44: 'str object' has no attribute 'nope' (template line 1) (row spec.yaml:2)"
    ]


def test_a_bad_default_shared_by_many_videos_is_one_line(tree, check) -> None:
    videos = "".join(f"  - {{name: v{i}, voice: {{script: x}}}}\n" for i in range(5))
    tree.spec("version: 1\ndefaults: {aspect: wide}\nvideos:\n" + videos)
    assert check(Path("spec.yaml")) == [
        "spec.yaml:2:20: Input should be 'portrait', 'landscape' or 'square', got 'wide'"
    ]


def test_shared_templates_are_found_from_inside_the_spec_folder(tree, monkeypatch) -> None:
    tree.write("templates/far.j2", "far")
    tree.write(
        "specs/spec.yaml",
        "version: 1\nvideos:\n  - {name: a, voice: {script: \"{% include 'far.j2' %}\"}}\n",
    )
    monkeypatch.chdir(tree.root / "specs")
    assert load_spec(Path("spec.yaml")).videos[0].video.voice.script == "far"


@pytest.mark.parametrize(
    "expression",
    ["{{ vars.update({'who': 'B'}) }}", "{{ row.pop('id') }}", "{{ vars['items'].append(1) }}"],
)
def test_templates_cannot_change_rows_or_vars(tree, check, expression: str) -> None:
    tree.spec(f"""
        version: 1
        vars: {{who: A, items: [1]}}
        data: {{r: [{{id: "1"}}, {{id: "2"}}]}}
        videos:
          - {{name: "v{{{{ row.id }}}}", for_each: r, voice: {{script: "{expression}"}}}}
    """)
    lines = check(Path("spec.yaml"))
    assert lines and all("is unsafe" in line for line in lines), lines


def test_namespace_and_set_still_work(tree) -> None:
    script = (
        "{% set ns = namespace(n=0) %}{% for i in range(3) %}"
        "{% set ns.n = ns.n + i %}{% endfor %}{{ ns.n }}"
    )
    [video] = videos(
        tree, f'version: 1\nvideos:\n  - name: a\n    voice:\n      script: "{script}"\n'
    )
    assert video.voice.script == "3"


def test_default_output_is_out_name_beside_the_spec(tree) -> None:
    (tree.root / ".git").mkdir()  # inside a repository too: paths are relative to the spec
    tree.write("specs/welcome.yaml", "version: 1\nvideos:\n  - {name: a, voice: {script: x}}\n")
    tree.write(
        "specs/team/other.yaml",
        "version: 1\nname: o\noutput: ../../renders\nvideos:\n  - {name: a, voice: {script: x}}\n",
    )
    assert load_spec(Path("specs/welcome.yaml")).output_dir == Path("specs/out/welcome")
    assert load_spec(Path("specs/team/other.yaml")).output_dir == Path("renders")


@pytest.mark.parametrize(
    "included",
    [
        "Hi {{ row.name }}!\n",
        "Hi\n{{ row.nope }}",
        "{% if row.id %}{{ row.name }}{% endif %}",
    ],
)
def test_an_include_renders_as_jinja_would(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, included: str
) -> None:
    """`{% include 'x' %}` alone is rendered as x itself; the output and any error
    (with the included file and its line) are Jinja's."""
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "t.j2").write_text(included)
    monkeypatch.chdir(tmp_path)
    env, _ = render.make_environment(Path("."))
    source = "{% include 't.j2' %}"
    fast = render.compile_tree(source, env)
    slow = render.Templated((), source, env.from_string(source))
    context = render.row_context(
        env,
        {"row": {"id": 7, "name": "Ann"}, "vars": {}, "loop": {"index": 1}, "spec": {"name": "s"}},
    )

    def outcome(node: Any) -> str:
        try:
            return "ok: " + node.render(context)
        except PathFailure as exc:
            return "error: " + exc.failure.describe()

    assert outcome(fast) == outcome(slow)


def test_an_untemplated_avatar_or_voice_is_one_model_for_every_row(tree) -> None:
    """Validated once (expand._constant_models); a templated one, once per row."""
    tree.write("intro.wav", "")
    result = videos(
        tree,
        """
        version: 1
        data: {rows: [{id: 1}, {id: 2}, {id: 3}]}
        assets: {intro: intro.wav}
        videos:
          - {name: "a{{ row.id }}", for_each: rows, avatar: {id: 81}, voice: {audio: intro}}
          - {name: "b{{ row.id }}", for_each: rows, avatar: {id: "{{ row.id }}"},
             voice: {script: "Hi {{ row.id }}"}}
    """,
    )
    constant, templated = result[:3], result[3:]
    assert len({id(v.avatar) for v in constant}) == len({id(v.voice) for v in constant}) == 1
    assert constant[0].avatar.id == 81 and constant[0].avatar.model_fields_set == {"id"}
    assert [v.avatar.id for v in templated] == [1, 2, 3]
    assert len({id(v.avatar) for v in templated}) == 3
