"""SHACL Core validation: a native engine over semtwin's graph views (files in memory, any
store, a store as a changeset would leave it), and incremental validation of changes."""

from semtwin.shacl.graph import GraphView, MemoryGraph, OverlayView, StoreView
from semtwin.shacl.paths import ShapesError
from semtwin.shacl.shapes import ShapesGraph
from semtwin.shacl.validator import ValidationReport, ValidationResult, Validator

__all__ = [
    "GraphView",
    "MemoryGraph",
    "OverlayView",
    "ShapesError",
    "ShapesGraph",
    "StoreView",
    "ValidationReport",
    "ValidationResult",
    "Validator",
]
