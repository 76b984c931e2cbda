"""Web: app factory, HTML pages (Jinja2), REST API (FastAPI), problem+json errors, i18n."""
