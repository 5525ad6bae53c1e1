"""semtwin: a knowledge-graph semantic twin server."""

__version__ = "0.1.0"
