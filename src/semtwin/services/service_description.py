"""The SPARQL 1.1 Service Description of the endpoint, as RDF triples."""

from __future__ import annotations

from semtwin.rdf import BlankNode, NamedNode, Triple

SD = "http://www.w3.org/ns/sparql-service-description#"
RDF_TYPE = NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
FORMATS = "http://www.w3.org/ns/formats/"


def service_description(endpoint: str, union_default_graph: bool) -> list[Triple]:
    service = BlankNode()
    dataset = BlankNode()
    default_graph = BlankNode()

    def sd(name: str) -> NamedNode:
        return NamedNode(SD + name)

    triples = [
        Triple(service, RDF_TYPE, sd("Service")),
        Triple(service, sd("endpoint"), NamedNode(endpoint)),
        Triple(service, sd("supportedLanguage"), sd("SPARQL11Query")),
        Triple(service, sd("supportedLanguage"), sd("SPARQL11Update")),
        Triple(service, sd("feature"), sd("BasicFederatedQuery")),
        Triple(service, sd("feature"), sd("EmptyGraphs")),
        Triple(service, sd("defaultDataset"), dataset),
        Triple(dataset, RDF_TYPE, sd("Dataset")),
        Triple(dataset, sd("defaultGraph"), default_graph),
        Triple(default_graph, RDF_TYPE, sd("Graph")),
    ]
    if union_default_graph:
        triples.append(Triple(service, sd("feature"), sd("UnionDefaultGraph")))
    for name in ("SPARQL_Results_JSON", "SPARQL_Results_XML", "SPARQL_Results_CSV",
                 "SPARQL_Results_TSV", "Turtle", "N-Triples", "JSON-LD", "RDF_XML"):
        triples.append(Triple(service, sd("resultFormat"), NamedNode(FORMATS + name)))
    for name in ("Turtle", "N-Triples", "N-Quads", "TriG", "JSON-LD", "RDF_XML"):
        triples.append(Triple(service, sd("inputFormat"), NamedNode(FORMATS + name)))
    return triples
