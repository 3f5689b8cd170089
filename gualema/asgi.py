"""The ASGI entry point uvicorn imports in each worker process."""

from gualema.app import create_app

app = create_app()
