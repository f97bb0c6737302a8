"""The HTTP API (FastAPI): routers, problem+json errors, and the app factory."""
