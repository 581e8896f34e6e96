"""A signed result URL's query string is a credential: never committed to the lockfile.

The job id on record is what asks the provider for a fresh URL when the video must
be downloaded again (docs/design.md, "Secrets").
"""

from __future__ import annotations

import pytest
from applykit import InProcess, Project, SimServer

#: On both state backends: lockfiles, and rows in PostgreSQL.
pytestmark = pytest.mark.usefixtures("state_backend")


@pytest.mark.sim(signed_url_seconds=600.0)
def test_signed_urls_stay_out_of_the_lockfile_and_are_asked_for_again(
    cli: InProcess, sim: SimServer, project: Project
) -> None:
    project.jogg_spec(2)
    assert cli("apply", "--yes", "spec.yaml").code == 0
    text = project.state_text()
    assert "X-Amz-Signature" not in text and "X-Amz-Date" not in text
    entry = project.lock().videos["v1"]
    assert entry.output.signed is True and "?" not in entry.output.url

    (project.root / "out" / "spec" / "v1.mp4").unlink()
    assert "download" in cli("plan", "spec.yaml").out
    before = sim.mark()
    again = cli("apply", "--yes", "spec.yaml")
    assert again.code == 0, again.text
    assert sim.creates(before) == []  # downloaded again, never rendered again
    reads = [r for r in sim.requests(before) if r.path.startswith("/jogg/v2/avatar_video/")]
    assert len(reads) == 1  # one status read signed a fresh URL
    files = [r for r in sim.requests(before) if "/_files/" in r.path]
    assert [r.status for r in files] == [200]  # the stale one was never even tried
    assert (project.root / "out" / "spec" / "v1.mp4").stat().st_size > 0
    assert "X-Amz-Signature" not in project.state_text()
