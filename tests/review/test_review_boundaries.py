"""What the gallery's parts load (docs/design.md, "Review gallery"): the model is pure,
the page needs no server, and nothing of it loads apply or a provider client."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("starlette", "uvicorn", "httpx", "av", "PIL", "reelform.apply", "reelform.providers.jogg")


def loaded_by(module: str) -> set[str]:
    code = f"import json, sys; import {module}; print(json.dumps(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(json.loads(done.stdout))


@pytest.mark.parametrize("module", ["reelform.review.model", "reelform.review.page"])
def test_the_model_and_the_page_load_no_server_no_decoder_and_no_client(module: str) -> None:
    loaded = loaded_by(module)
    found = sorted(m for m in loaded for heavy in HEAVY if m == heavy or m.startswith(heavy + "."))
    assert found == []
    assert not any(m.startswith("reelform.commands") for m in loaded)
