"""`reelform review`: a gallery of a spec's videos in the browser (docs/design.md,
"Review gallery").

- ``model.py``   pure: a plan, its lockfile and what is on disk -> cards
- ``build.py``   the I/O edge: prepare and plan the specs, observe files, make posters
- ``posters.py`` a poster frame per video (PyAV), cached by the file's sha256
- ``page.py``    the HTML (Jinja with autoescape), for a static build or the server
- ``server.py``  the loopback server: the page, its assets, posters and videos only,
                 approvals, and server-sent events for ``watch --preview --serve``
"""
