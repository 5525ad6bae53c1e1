"""A seeded generator of realistic building twin graphs, for the demo and the benchmarks."""

from semtwin.demo.generator import BuildingSpec, demo_quads, generate_building_graph

__all__ = ["BuildingSpec", "demo_quads", "generate_building_graph"]
