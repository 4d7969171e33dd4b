"""``autofin.web``: the server-rendered pages of the platform, in ``en`` and ``zh-CN``.

:func:`mount_web` adds them to the REST service's FastAPI application (they share its engine, store,
tokens and rate limit, and stay out of the OpenAPI document):

- ``/`` (what each role can do), ``/login`` and ``/logout`` (:mod:`autofin.web.session`);
- ``/dealer``: the dealer desk (:mod:`autofin.web.dealer`);
- ``/customer/...``: customer self-service, open to everyone (:mod:`autofin.web.customer`);
- ``/underwriter``: the queue of referred applications (:mod:`autofin.web.underwriter`);
- ``/analyst``: dashboards (:mod:`autofin.web.analyst`);
- ``/static/...``: the site's own CSS and script, and plotly.js read from the installed ``plotly``
  package.

Texts: :mod:`autofin.web.i18n`; templates and charts: :mod:`autofin.web.render`.
"""

from __future__ import annotations

from autofin.web.site import mount_web

__all__ = ["mount_web"]
