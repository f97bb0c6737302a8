"""Server-rendered portals (Jinja2 + htmx) on the same app as the HTTP API: worker, institution,
enterprise, administrator and the statistics dashboard, in Chinese first and English second."""
