"""The HTTP front end (FastAPI). Only this package imports the web framework."""

from semtwin.http.app import create_app

__all__ = ["create_app"]
