"""Rules that need the whole model set: references, ``extends``, inherited contents, Component
and schema nesting, enum datatypes, size limits."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from semtwin.mappings import SourceProblem

if TYPE_CHECKING:
    from semtwin.mappings.dtdl.parser import DtdlParser, Element

_MAX_CONTENT_DEPTH = 100


def check_model(parser: DtdlParser) -> set[str]:
    from semtwin.mappings.dtdl.parser import Element, Ref

    elements = parser.elements
    problems = parser.problems
    unresolved: set[str] = set()

    def problem(element: Element, where: str, message: str) -> None:
        problems.append(SourceProblem(element.file, where or element.pointer, message))

    def resolve(value: Any) -> Element | str | None:
        if isinstance(value, Element):
            return value
        if isinstance(value, Ref):
            if value.iri in elements:
                return elements[value.iri]
            return value.iri
        return None

    all_elements = _walk(parser.roots)
    root_of: dict[str, str] = {}
    referenceable: set[str] = set()
    for root in parser.roots:
        referenceable.add(root.id)
        for value in root.many("schemas"):
            if isinstance(value, Element):
                referenceable.add(value.id)
        for e in _walk([root]):
            root_of.setdefault(e.id, root.id)
    # References: resolvable, and of the class the property expects.
    for element in all_elements:
        lang = element.lang
        constraints = lang.constraints(element.cls)
        for name, values in element.props.items():
            c = constraints.get(name)
            if c is None or c.is_literal:
                continue
            for value in values:
                if not isinstance(value, Ref):
                    continue
                if value.iri.startswith(("dtmi:dtdl:instance:", "dtmi:standard:schema:")):
                    continue
                target = elements.get(value.iri)
                if target is None:
                    if name == "target":
                        continue
                    unresolved.add(value.iri)
                    problem(element, value.pointer, f"{value.iri} is not defined in the "
                            "model set")
                    continue
                if target.id not in referenceable and root_of.get(target.id) != \
                        root_of.get(element.id):
                    problem(element, value.pointer, f"{value.iri} is defined inside another "
                            "interface; only interfaces and their schemas can be referred to")
                    continue
                if c.classes and not any(lang.is_a(target.cls, k) for k in c.classes):
                    problem(element, value.pointer, f"{name} must refer to a "
                            f"{' or '.join(c.classes)}, and {value.iri} is a {target.cls}")
    if problems:
        return unresolved
    interfaces = [e for e in elements.values() if e.cls == "Interface"]
    for interface in interfaces:
        _check_extends(interface, elements, problem)
    if problems:
        return unresolved
    for interface in interfaces:
        _check_contents(interface, elements, problem)
    for element in all_elements:
        _check_element(element, elements, problem, resolve)
    for root in parser.roots:
        limit = root.lang.global_.get("maxBytes")
        if limit and root.size > limit:
            problem(root, root.pointer, f"an Interface is at most {limit} bytes")
    return unresolved


def _walk(roots: list[Element]) -> list[Element]:
    from semtwin.mappings.dtdl.parser import Element

    out: list[Element] = []
    stack = list(roots)
    seen: set[int] = set()
    while stack:
        element = stack.pop()
        if id(element) in seen:
            continue
        seen.add(id(element))
        out.append(element)
        for values in element.props.values():
            stack.extend(v for v in values if isinstance(v, Element))
    return out


def _extends(interface: Element, elements: dict[str, Element]) -> list[Element]:
    from semtwin.mappings.dtdl.parser import Element, Ref

    out = []
    for value in interface.many("extends"):
        if isinstance(value, Element):
            out.append(value)
        elif isinstance(value, Ref) and value.iri in elements:
            out.append(elements[value.iri])
    return out


def _check_extends(interface: Element, elements: dict[str, Element], problem: Any) -> None:
    rules = [d for d in interface.lang.classes["Interface"].descendants
             if d["properties"] == ["extends"]]
    max_depth = rules[0].get("maxDepth", 10) if rules else 10
    max_count = rules[0].get("maxCount") if rules else None
    seen: set[str] = set()
    path_ids = {interface.id}
    depth_exceeded = False

    def visit(node: Element, depth: int, path: set[str]) -> bool:
        nonlocal depth_exceeded
        for parent in _extends(node, elements):
            if parent.id in path or parent.id == interface.id:
                problem(interface, interface.pointer, f"{interface.id} extends itself "
                        f"(through {parent.id})")
                return False
            if depth + 1 > max_depth:
                depth_exceeded = True
                return False
            seen.add(parent.id)
            if not visit(parent, depth + 1, path | {parent.id}):
                return False
        return True

    if not visit(interface, 0, path_ids):
        if depth_exceeded:
            problem(interface, interface.pointer, f"extends nests deeper than {max_depth}")
        return
    if max_count is not None and len(seen) > max_count:
        problem(interface, interface.pointer, f"extends reaches more than {max_count} "
                "interfaces")


def _inherited(interface: Element, elements: dict[str, Element]) -> list[Element]:
    out: list[Element] = []
    stack = [interface]
    seen: set[str] = set()
    while stack:
        node = stack.pop()
        if node.id in seen:
            continue
        seen.add(node.id)
        out.append(node)
        stack.extend(_extends(node, elements))
    return out


def _check_contents(interface: Element, elements: dict[str, Element], problem: Any) -> None:
    from semtwin.mappings.dtdl.parser import Element

    names: dict[str, str] = {}
    count = 0
    for node in _inherited(interface, elements):
        for content in node.many("contents"):
            if not isinstance(content, Element):
                continue
            count += 1
            name = content.one("name")
            if name in names and names[name] != content.id:
                problem(interface, interface.pointer, f"content name {name!r} is defined "
                        f"by both {names[name]} and {content.id}")
                return
            names[name] = content.id
    lang = interface.lang
    for rule in lang.classes["Interface"].descendants:
        if "contents" in rule["properties"] and rule.get("maxCount") and \
                _descendant_count(interface, elements) > rule["maxCount"]:
            problem(interface, interface.pointer, f"more than {rule['maxCount']} elements "
                    "in contents")
            return


def _descendant_count(interface: Element, elements: dict[str, Element]) -> int:
    total = 0
    for node in _inherited(interface, elements):
        total += len(_walk([node])) - 1
    return total


def _check_element(element: Element, elements: dict[str, Element], problem: Any,
                   resolve: Any) -> None:
    from semtwin.mappings.dtdl.parser import Element, Ref

    lang = element.lang
    cls = element.cls
    if cls == "Component":
        schema = resolve(element.one("schema"))
        if isinstance(schema, Element):
            for node in _inherited(schema, elements):
                for content in node.many("contents"):
                    if isinstance(content, Element) and content.cls == "Component":
                        problem(element, element.pointer, f"component {element.one('name')!r}"
                                f": {schema.id} itself has components")
                        return
    if cls == "Property" and lang.version == 2:
        schema = element.one("schema")
        if isinstance(schema, Ref) and schema.iri.startswith("dtmi:standard:schema:geospatial"):
            problem(element, schema.pointer, "a DTDL v2 Property cannot have a geospatial "
                    "schema (it holds arrays)")
            return
    if cls in ("Property",):
        for rule in lang.classes[cls].descendants:
            excluded = rule.get("excludeType")
            if excluded and _schema_contains(element, excluded, resolve, set()):
                problem(element, element.pointer, f"a Property's schema cannot contain an "
                        f"{excluded} in DTDL v{lang.version}")
                return
    if cls in ("Array", "Map", "Object", "Enum") or lang.is_a(cls, "ComplexSchema"):
        depth = _schema_depth(element, resolve, set())
        if depth < 0:
            problem(element, element.pointer, f"schema {element.id} contains itself")
            return
        if depth > 5:
            problem(element, element.pointer, "complex schemas nest at most 5 deep")
            return
    if cls == "Enum":
        schema = element.one("valueSchema")
        kind = getattr(schema, "iri", "")
        for value in element.many("enumValues"):
            resolved = resolve(value)
            if not isinstance(resolved, Element):
                continue
            v = resolved.one("enumValue")
            if "integer" in kind and (not isinstance(v, int) or isinstance(v, bool)
                                      or not -(2**31) <= v < 2**31):
                problem(resolved, resolved.pointer, f"enumValue {v!r} must be an integer "
                        "(valueSchema integer)")
                return
            if "string" in kind and not isinstance(v, str):
                problem(resolved, resolved.pointer, f"enumValue {v!r} must be a string "
                        "(valueSchema string)")
                return
    if cls == "Relationship":
        low, high = element.one("minMultiplicity"), element.one("maxMultiplicity")
        if isinstance(low, int) and isinstance(high, int) and low > high:
            problem(element, element.pointer, "minMultiplicity exceeds maxMultiplicity")


def _schema_contains(element: Element, excluded: str, resolve: Any, seen: set[str]) -> bool:
    from semtwin.mappings.dtdl.parser import Element

    for name in ("schema", "elementSchema", "fields", "mapValue"):
        for value in element.many(name):
            target = resolve(value)
            if not isinstance(target, Element) or target.id in seen:
                continue
            seen.add(target.id)
            if target.cls == excluded or _schema_contains(target, excluded, resolve, seen):
                return True
    return False


def _schema_depth(element: Element, resolve: Any, path: set[str]) -> int:
    """How deep complex schemas nest below (and including) this one; -1 for a cycle."""
    from semtwin.mappings.dtdl.parser import Element

    if element.id in path:
        return -1
    path = path | {element.id}
    best = 0
    for name in ("elementSchema", "fields", "mapValue", "schema"):
        for value in element.many(name):
            target = resolve(value)
            if not isinstance(target, Element):
                continue
            depth = _schema_depth(target, resolve, path)
            if depth < 0:
                return -1
            best = max(best, depth)
    return best + (1 if element.lang.is_a(element.cls, "ComplexSchema") else 0)
