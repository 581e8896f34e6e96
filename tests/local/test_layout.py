from __future__ import annotations

import pytest

from reelform.providers.local.captions import cues, spread_words
from reelform.providers.local.layout import font, font_family, layout, wrap
from reelform.providers.local.speech import Word


@pytest.mark.parametrize("aspect", ["portrait", "landscape", "square"])
@pytest.mark.parametrize("style", [1, 2, 3])
@pytest.mark.parametrize("preview", [False, True])
def test_boxes_sit_on_even_pixels_inside_the_frame(aspect: str, style: int, preview: bool) -> None:
    lay = layout(aspect, style, preview, "Title", "Some text for the panel.")
    assert lay.background.shape == (lay.height, lay.width, 3)
    for x, y, w, h in (lay.avatar_box, lay.caption_box):
        assert x % 2 == y % 2 == w % 2 == h % 2 == 0
        assert x + w <= lay.width and y + h <= lay.height and min(x, y) >= 0


def test_unknown_style_is_refused() -> None:
    with pytest.raises(ValueError, match="screen_style"):
        layout("portrait", 4, False, "", "")


def test_latin_text_uses_the_builtin_font() -> None:
    assert font_family("Grüße, café — “quoted” …") == ""


def test_other_scripts_use_an_installed_font_when_there_is_one() -> None:
    family = font_family("Привет, мир")
    if not family:
        pytest.skip("no font with Cyrillic installed")
    builtin, wide = font(20), font(20, family)
    assert builtin.getlength("Привет") != wide.getlength("Привет")


def test_cues_hold_two_lines_and_end_at_sentences() -> None:
    text = "One two three four five six seven eight nine ten. Next sentence here."
    words = spread_words(text, 10.0)
    made = cues(words, 10.0, 20, 200)
    assert all(len(c.lines) <= 2 for c in made)
    assert all(font(20).getlength(line) <= 200 for c in made for line in c.lines)
    assert any(c.lines[-1].endswith("ten.") for c in made)  # the sentence ends a cue
    starts = [c.start for c in made]
    assert starts == sorted(starts) and made[-1].end == 10.0
    assert " ".join(" ".join(c.lines) for c in made) == text


def test_cue_timing_follows_words() -> None:
    words = [Word(0.0, "Hello."), Word(1.5, "World.")]
    made = cues(words, 3.0, 20, 400)
    assert [(c.start, c.end, c.lines) for c in made] == [
        (0.0, 1.5, ("Hello.",)),
        (1.5, 3.0, ("World.",)),
    ]


def test_wrap_cuts_words_wider_than_a_line() -> None:
    lines = wrap("x" * 200, font(20), 100)
    assert len(lines) > 1 and all(font(20).getlength(line) <= 100 for line in lines)
