"""SHACL, RDF and XSD terms the validator speaks."""

from __future__ import annotations

from semtwin.rdf import NamedNode

SH_NS = "http://www.w3.org/ns/shacl#"
RDF_NS = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDFS_NS = "http://www.w3.org/2000/01/rdf-schema#"
XSD_NS = "http://www.w3.org/2001/XMLSchema#"


def sh(name: str) -> NamedNode:
    return NamedNode(SH_NS + name)


RDF_TYPE = NamedNode(RDF_NS + "type")
RDF_FIRST = NamedNode(RDF_NS + "first")
RDF_REST = NamedNode(RDF_NS + "rest")
RDF_NIL = NamedNode(RDF_NS + "nil")
RDF_LANGSTRING = NamedNode(RDF_NS + "langString")
RDFS_SUBCLASS = NamedNode(RDFS_NS + "subClassOf")
RDFS_CLASS = NamedNode(RDFS_NS + "Class")
XSD_STRING = NamedNode(XSD_NS + "string")
XSD_BOOLEAN = NamedNode(XSD_NS + "boolean")
XSD_INTEGER = NamedNode(XSD_NS + "integer")

SH_NODE_SHAPE = sh("NodeShape")
SH_PROPERTY_SHAPE = sh("PropertyShape")
SH_SHAPE = sh("Shape")
SH_PATH = sh("path")
SH_VIOLATION = sh("Violation")
SH_WARNING = sh("Warning")
SH_INFO = sh("Info")
OWL_CLASS = NamedNode("http://www.w3.org/2002/07/owl#Class")
OWL_DEPRECATED = NamedNode("http://www.w3.org/2002/07/owl#deprecated")
