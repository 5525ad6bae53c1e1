"""The ``semtwin`` command line."""

from __future__ import annotations

import dataclasses
import gzip
import io
import ipaddress
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import click
from tqdm import tqdm

from semtwin.errors import InvalidInput, SemtwinError
from semtwin.rdf import NamedNode, RdfFormat, format_by_name, format_for_path
from semtwin.runtime import Semtwin
from semtwin.settings import Settings, default_store_dir
from semtwin.store import AskResult, TwinStore

STORE_OPTION = click.option(
    "--store", "store_dir", metavar="DIR|URL",
    help=f"Store directory (default: $SEMTWIN_STORE or {default_store_dir()}), or a remote "
    "SPARQL store: oxigraph+http://HOST:PORT, virtuoso+http://HOST:PORT, sparql+http(s)://URL.",
)


def _settings(store_dir: str | None, memory: bool = False, **overrides: Any) -> Settings:
    store = "memory" if memory else store_dir
    return Settings.from_env(store=store, **overrides)


@contextmanager
def _runtime(settings: Settings) -> Iterator[Semtwin]:
    try:
        runtime = Semtwin.open(settings)
    except SemtwinError as err:
        raise click.ClickException(err.detail) from None
    try:
        yield runtime
    finally:
        runtime.close()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="semtwin")
def main() -> None:
    """semtwin: a knowledge-graph semantic twin server."""


@main.command()
@STORE_OPTION
@click.option("--memory", is_flag=True, help="Use an in-memory store (nothing is kept).")
@click.option("--host", default=None, help="Address to bind (default 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (default 8000).")
@click.option("--demo", is_flag=True, help="Load the demo campus if the store is empty.")
@click.option("--query-timeout", type=float, default=None, help="Seconds (default 30).")
@click.option("--max-rows", type=int, default=None, help="Result row cap (default 100000).")
@click.option("--max-body-mb", type=float, default=None, help="Request body cap (default 64).")
@click.option("--cors", "cors", multiple=True, help="Allowed CORS origin (repeat; '*' for any).")
@click.option("--log-level", default="INFO", show_default=True)
def serve(store_dir: str | None, memory: bool, host: str | None, port: int | None, demo: bool,
          query_timeout: float | None, max_rows: int | None, max_body_mb: float | None,
          cors: tuple[str, ...], log_level: str) -> None:
    """Serve SPARQL, the Graph Store Protocol and the twin API over HTTP."""
    import uvicorn

    from semtwin.http import create_app
    from semtwin.http.protocol import ProblemHttpToolsProtocol
    from semtwin.logging_setup import configure_logging

    settings = _settings(store_dir, memory, host=host, port=port, query_timeout=query_timeout,
                         max_result_rows=max_rows, cors_origins=cors or None,
                         max_body_bytes=int(max_body_mb * 1024 * 1024) if max_body_mb else None)
    base = f"http://{_url_host(settings.host)}:{settings.port}/"
    if "SEMTWIN_BASE_IRI" not in os.environ:
        settings = dataclasses.replace(settings, base_iri=base)
    configure_logging(log_level, settings.log_json)
    try:
        runtime = Semtwin.open(settings)
    except SemtwinError as err:
        raise click.ClickException(err.detail) from None
    if not _is_loopback(settings.host) and not runtime.auth.configured:
        runtime.close()
        raise click.ClickException(
            f"refusing to bind {settings.host}: no authentication is configured, and an open "
            "server beyond loopback would let anyone write. Create an API key "
            "(semtwin keys create --role admin) or configure OIDC (SEMTWIN_JWT_ISSUER, "
            "SEMTWIN_JWT_JWKS), or bind 127.0.0.1 or ::1.")
    empty = _is_empty(runtime.store)
    runtime.models.ensure_core()
    # compile the active shapes now, not in the first write (with Brick's 1,675 shapes that
    # is about a second every concurrent first write would wait for)
    runtime.active_shapes.snapshot()
    if demo and empty:
        from semtwin.demo import demo_quads
        from semtwin.rdf import NamedNode
        from semtwin.services.pipeline import Changeset

        quads = demo_quads()
        runtime.pipeline.commit(Changeset(
            event_type="demo.loaded", subject=NamedNode("https://semtwin.dev/demo/"),
            add=quads, data={"triples": len(quads)}))
        click.echo(f"loaded the demo campus: {len(quads)} quads", err=True)
    where = "memory (nothing is kept)" if settings.in_memory else settings.store
    click.echo(
        f"semtwin serving {base} — SPARQL at {base}sparql, graphs at {base}graphs, "
        f"docs at {base}docs; store: {where}; {runtime.auth.describe()}",
        err=True,
    )
    app = create_app(runtime, close_on_shutdown=True)
    uvicorn.run(app, host=settings.host, port=settings.port, log_config=None,
                access_log=False, timeout_graceful_shutdown=5,
                http=ProblemHttpToolsProtocol)


def _is_empty(store: TwinStore) -> bool:
    """One ASK: ``count()`` or a first quad of an unrestricted pattern would have a remote
    store send every quad (2 GB of memory and 20 s at 917k quads, ad hoc)."""
    result = store.query("ASK { { ?s ?p ?o } UNION { GRAPH ?g { ?s ?p ?o } } }",
                         union_default_graph=False)
    return isinstance(result, AskResult) and not result.value


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


class _ProgressReader(io.RawIOBase):
    """A binary reader that advances a progress bar as it is consumed."""

    def __init__(self, raw: IO[bytes], bar: tqdm[Any]) -> None:
        self._raw = raw
        self._bar = bar

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._raw.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        self._bar.update(n)
        return n


def _open(path: Path) -> IO[bytes]:
    if path.suffix == ".gz":
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return path.open("rb")


@main.command()
@click.argument("files", nargs=-1, required=True,
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
@STORE_OPTION
@click.option("--graph", help="Load triples into this named graph (default: the default graph).")
@click.option("--format", "format_name",
              help="turtle, ntriples, nquads, trig, jsonld, rdfxml, n3 (default: by extension).")
@click.option("--base-iri", help="Base IRI for relative IRIs (default: the file's URI).")
@click.option("--no-compact", is_flag=True,
              help="Leave the embedded store uncompacted after loading (faster to load; the "
                   "server's first minute of reads and writes is slower instead).")
def load(files: tuple[Path, ...], store_dir: str | None, graph: str | None,
         format_name: str | None, base_iri: str | None, no_compact: bool) -> None:
    """Load RDF files. Each file is checked completely first: a bad file loads nothing.
    The embedded store is compacted afterwards: RocksDB leaves bulk-loaded files
    overlapping, and until they are merged every look-up reads them all (at 1M twins,
    3-16x slower, for the first 25-40 s a server runs on it)."""
    settings = _settings(store_dir)
    try:
        plan = [(path, format_by_name(format_name) if format_name else format_for_path(str(path)))
                for path in files]
    except SemtwinError as err:
        raise click.ClickException(err.detail) from None
    target = NamedNode(graph) if graph else None
    with _runtime(settings) as runtime:
        for path, fmt in plan:
            base = base_iri or path.resolve().as_uri()
            size = path.stat().st_size
            _check_file(path, fmt, base, size)
            before = runtime.store.count()
            started = time.perf_counter()
            with tqdm(total=size, unit="B", unit_scale=True, desc=f"load {path.name}",
                      disable=None) as bar, _open(path) as raw:
                reader = io.BufferedReader(_ProgressReader(raw, bar), 1 << 20)
                try:
                    runtime.store.bulk_load(reader, fmt, base_iri=base, graph=target)
                except SemtwinError as err:
                    raise click.ClickException(f"{path}: {err.detail}") from None
            added = runtime.store.count() - before
            elapsed = time.perf_counter() - started
            click.echo(f"{path}: {added} quads added in {elapsed:.1f} s "
                       f"({added / max(elapsed, 1e-9):,.0f}/s)", err=True)
        runtime.store.flush()
        if runtime.store.capabilities.in_process and not no_compact:
            started = time.perf_counter()
            runtime.store.compact()
            click.echo(f"compacted in {time.perf_counter() - started:.1f} s", err=True)


def _check_file(path: Path, fmt: RdfFormat, base: str, size: int) -> None:
    """Parse the whole file and check every literal as the write pipeline does (XML 1.0
    characters), so that a bad file loads nothing."""
    from semtwin.rdf import parse
    from semtwin.services.pipeline import check_xml_characters

    count = 0

    if fmt == RdfFormat.RDF_XML:
        from semtwin.xmlsafety import check_depth, check_xml

        with _open(path) as raw:
            try:
                check_xml(raw, str(path))
                check_depth(raw, str(path))
            except SemtwinError as err:
                raise click.ClickException(f"{err.detail}; nothing was loaded") from None
    elif fmt == RdfFormat.JSON_LD:
        from semtwin.rdf import check_json_depth

        with _open(path) as raw:
            try:
                check_json_depth(raw.read(), str(path))
            except SemtwinError as err:
                raise click.ClickException(f"{err.detail}; nothing was loaded") from None
    with tqdm(total=size, unit="B", unit_scale=True, desc=f"check {path.name}",
              disable=None) as bar, _open(path) as raw:
        reader = io.BufferedReader(_ProgressReader(raw, bar), 1 << 20)
        try:
            for quad in parse(reader, format=fmt, base_iri=base):
                count += 1
                check_xml_characters((quad,))
        except InvalidInput as err:
            raise click.ClickException(
                f"{path}: statement {count}: {err.detail}; nothing was loaded") from None
        except SyntaxError as err:
            where = f" at line {err.lineno}, column {err.offset}" if err.lineno else ""
            raise click.ClickException(
                f"{path}: malformed {fmt.name}{where}: {err.msg}; nothing was loaded"
            ) from None
        except ValueError as err:
            raise click.ClickException(f"{path}: {err}; nothing was loaded") from None


@main.command()
@STORE_OPTION
@click.option("--format", "format_name", type=click.Choice(["nquads", "trig"]),
              default="nquads", show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              help="File to write (default: standard output).")
def dump(store_dir: str | None, format_name: str, output: Path | None) -> None:
    """Write the whole dataset (every graph) as N-Quads or TriG."""
    fmt = RdfFormat.N_QUADS if format_name == "nquads" else RdfFormat.TRIG
    with _runtime(_settings(store_dir)) as runtime:
        if output is None:
            runtime.store.dump(sys.stdout.buffer, fmt)
            sys.stdout.buffer.flush()
        else:
            with output.open("wb") as out:
                runtime.store.dump(out, fmt)
            click.echo(f"wrote {runtime.store.count()} quads to {output}", err=True)


@main.command()
@click.argument("sparql")
@STORE_OPTION
@click.option("--format", "format_name", default="table", show_default=True,
              type=click.Choice(["table", "json", "xml", "csv", "tsv", "turtle", "ntriples",
                                 "jsonld", "rdfxml"]))
def query(sparql: str, store_dir: str | None, format_name: str) -> None:
    """Run a SPARQL query against the store and print the results."""
    from semtwin.services.sparql import QueryRequest

    with _runtime(_settings(store_dir)) as runtime:
        service = runtime.sparql
        deadline = service.new_deadline()
        try:
            if format_name == "table":
                result = service.evaluate(QueryRequest(text=sparql))
                _print_table(result, runtime.settings.max_result_rows)
                return
            rendered = runtime.query_pool.run_sync(
                lambda: service.query(QueryRequest(text=sparql, format=format_name), deadline),
                deadline,
            )
        except SemtwinError as err:
            where = ""
            if err.extra.get("line") is not None:
                where = f" (line {err.extra['line']}, column {err.extra['column']})"
            raise click.ClickException(f"{err.detail}{where}") from None
        sys.stdout.buffer.write(rendered.body)
        sys.stdout.buffer.flush()


def _print_table(result: Any, max_rows: int) -> None:
    from semtwin.store import AskResult, SelectResult

    if isinstance(result, AskResult):
        click.echo("true" if result.value else "false")
        return
    if isinstance(result, SelectResult):
        header = result.variables
        rows = [["" if v is None else str(v) for v in row]
                for _, row in zip(range(max_rows), result.rows, strict=False)]
    else:
        header = ["subject", "predicate", "object"]
        rows = [[str(t.subject), str(t.predicate), str(t.object)]
                for _, t in zip(range(max_rows), result.triples, strict=False)]
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(header)]
    click.echo(" | ".join(h.ljust(w) for h, w in zip(header, widths, strict=False)))
    click.echo("-+-".join("-" * w for w in widths))
    for row in rows:
        click.echo(" | ".join(c.ljust(w) for c, w in zip(row, widths, strict=False)))
    click.echo(f"({len(rows)} rows)", err=True)


@main.command()
@click.argument("target", type=click.Path(file_okay=False, path_type=Path))
@STORE_OPTION
def backup(target: Path, store_dir: str | None) -> None:
    """Write a consistent copy of the store to TARGET (a new directory); open it with --store."""
    if target.exists() and any(target.iterdir()):
        raise click.ClickException(f"{target} exists and is not empty")
    with _runtime(_settings(store_dir)) as runtime:
        try:
            runtime.store.backup(target)
        except SemtwinError as err:
            raise click.ClickException(err.detail) from None
    click.echo(f"backup written to {target}", err=True)


@main.command()
@STORE_OPTION
def compact(store_dir: str | None) -> None:
    """Compact the store: reads of twins updated many times get fast again (RocksDB steps over
    every old version until compaction removes it). Takes seconds to minutes on large stores."""
    started = time.monotonic()
    with _runtime(_settings(store_dir)) as runtime:
        try:
            runtime.store.compact()
        except SemtwinError as err:
            raise click.ClickException(err.detail) from None
    click.echo(f"compacted in {time.monotonic() - started:.1f} s", err=True)


if __name__ == "__main__":
    main()


@main.command()
@click.argument("data", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--shapes", "shapes_files", multiple=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A shapes graph file (repeat). Default with --store: the store's active "
                   "shapes.")
@click.option("--store", "store_dir", metavar="[DIR|URL]", is_flag=False, flag_value="",
              default=None, help="Validate the whole store (its default location when no "
                                 "value is given), with its active shapes unless --shapes.")
@click.option("--format", "format_name", type=click.Choice(["text", "json", "turtle"]),
              default="text", show_default=True)
def validate(data: tuple[Path, ...], shapes_files: tuple[Path, ...], store_dir: str | None,
             format_name: str) -> None:
    """Validate DATA files (or the whole store) against SHACL shapes, writing nothing.

    Exit status: 0 conforms, 1 violations, 2 error.
    """
    from semtwin.shacl import MemoryGraph, ShapesError, ShapesGraph, Validator
    from semtwin.shacl.report import report_json, report_text, report_turtle

    try:
        if not data and store_dir is None:
            raise SemtwinError("give DATA files, or --store to validate a store")
        if data and not shapes_files and store_dir is None:
            raise SemtwinError("give --shapes SHAPES (or --store to use its active shapes)")
        shapes_view = MemoryGraph(_read_files(shapes_files)) if shapes_files else None
        if store_dir is not None and not data:
            with _runtime(_settings(store_dir or None)) as runtime:
                from semtwin.services.governance import data_view
                if shapes_view is None:
                    active = runtime.active_shapes.current()
                    shapes = active[0] if active else ShapesGraph(MemoryGraph())
                else:
                    shapes = ShapesGraph(shapes_view)
                report = Validator(shapes, data_view(runtime.store),
                                   stored_form=runtime.store.stored_form).validate_all()
        else:
            if shapes_view is None:
                with _runtime(_settings(store_dir or None)) as runtime:
                    active = runtime.active_shapes.current()
                    shapes = active[0] if active else ShapesGraph(MemoryGraph())
            else:
                shapes = ShapesGraph(shapes_view)
            report = Validator(shapes, MemoryGraph(_read_files(data))).validate_all()
    except ShapesError as err:
        click.echo(f"Error: the shapes are not valid SHACL: {err}", err=True)
        sys.exit(2)
    except (SemtwinError, click.ClickException) as err:
        click.echo(f"Error: {getattr(err, 'detail', None) or err}", err=True)
        sys.exit(2)
    if report.unsupported:
        click.echo("Warning: not evaluated (unsupported SHACL features): "
                   + ", ".join(sorted(report.unsupported)), err=True)
    if format_name == "json":
        import orjson
        click.echo(orjson.dumps(report_json(report), option=orjson.OPT_INDENT_2).decode())
    elif format_name == "turtle":
        click.echo(report_turtle(report).decode())
    else:
        click.echo(report_text(report), nl=False)
    sys.exit(0 if report.conforms else 1)


def _read_files(paths: tuple[Path, ...]) -> list[Any]:
    from semtwin.rdf import parse_rdf

    quads: list[Any] = []
    for path in paths:
        fmt = format_for_path(str(path))
        with _open(path) as stream:
            quads.extend(parse_rdf(stream.read(), fmt, base_iri=path.resolve().as_uri(),
                                   source=str(path)))
    return quads


@main.group()
def models() -> None:
    """Model (ontology and shapes) tools for ontology repositories and their CI."""


@models.command("diff")
@click.argument("old", nargs=1, type=click.Path(exists=True, path_type=Path))
@click.argument("new", nargs=1, type=click.Path(exists=True, path_type=Path))
@click.option("--format", "format_name", type=click.Choice(["text", "json", "markdown"]),
              default="text", show_default=True)
def models_diff(old: Path, new: Path, format_name: str) -> None:
    """Classify every change from OLD to NEW (files or directories) as breaking or not.

    Exit status: 0 compatible, 1 breaking, 2 error. Markdown fits a pull-request comment.
    """
    from semtwin.modeldiff import diff_models
    from semtwin.shacl import MemoryGraph, ShapesError

    try:
        result = diff_models(MemoryGraph(_read_model(old)), MemoryGraph(_read_model(new)))
    except (SemtwinError, ShapesError) as err:
        click.echo(f"Error: {getattr(err, 'detail', None) or err}", err=True)
        sys.exit(2)
    if format_name == "json":
        import orjson
        click.echo(orjson.dumps(result.json(), option=orjson.OPT_INDENT_2).decode())
    elif format_name == "markdown":
        click.echo(result.markdown())
    else:
        click.echo(result.text(), nl=False)
    sys.exit(1 if result.breaking else 0)


@models.command("check")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--reasoner/--no-reasoner", default=True, show_default=True,
              help="Check OWL consistency with owlready2's HermiT (needs Java).")
@click.option("--format", "format_name", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
def models_check(paths: tuple[Path, ...], reasoner: bool, format_name: str) -> None:
    """Check model files: syntax, unresolved imports, shapes that are not valid SHACL, lint
    (classes and properties without labels), OWL consistency.

    Exit status: 0 no errors (warnings allowed), 1 errors, 2 could not run.
    """
    from semtwin.modelcheck import check_models

    report = check_models(_model_files(paths), reasoner=reasoner)
    if format_name == "json":
        import orjson
        click.echo(orjson.dumps(report.json(), option=orjson.OPT_INDENT_2).decode())
    else:
        click.echo(report.text(), nl=False)
    sys.exit(1 if report.errors else 0)


_MODEL_SUFFIXES = {".ttl", ".nt", ".nq", ".trig", ".jsonld", ".rdf", ".owl", ".xml", ".n3"}


def _model_files(paths: tuple[Path, ...]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.suffix in _MODEL_SUFFIXES))
        else:
            files.append(path)
    return files


def _read_model(path: Path) -> list[Any]:
    files = _model_files((path,))
    if not files:
        raise SemtwinError(f"no RDF files in {path}")
    return _read_files(tuple(files))


@main.command()
@click.argument("source", metavar="SOURCE")
@STORE_OPTION
@click.option("--until", type=int, default=None, help="Stop after this sequence number.")
def replay(source: str, store_dir: str | None, until: int | None) -> None:
    """Rebuild a store from the journal of SOURCE (a store directory or URL, not in use),
    into the empty store given by --store: every journaled change, in order."""
    with _runtime(_settings(source)) as origin, _runtime(_settings(store_dir)) as target:
        if target.store.count() > 0:
            raise click.ClickException("the target store is not empty; replay rebuilds into "
                                       "an empty store")
        after, replayed, skipped = 0, 0, 0
        with tqdm(desc="replay", unit=" events", disable=None) as bar:
            while True:
                entries = origin.pipeline.journal(after, 500)
                if not entries or (until is not None and entries[0][0] > until):
                    break
                for seq, changeset in entries:
                    if until is not None and seq > until:
                        break
                    if changeset is None:
                        skipped += 1
                    else:
                        target.pipeline.commit(changeset)
                        replayed += 1
                    after = seq
                    bar.update(1)
        target.store.flush()
        click.echo(f"replayed {replayed} event(s) up to sequence {after}"
                   + (f"; {skipped} journaled before changes were recorded, skipped"
                      if skipped else ""), err=True)


_SOURCE_SUFFIXES = {"dtdl": {".json", ".ndjson"}, "opcua": {".xml"},
                    "aas": {".json", ".xml", ".aasx"}}


def _source_files(fmt: str, paths: tuple[Path, ...]) -> list[Any]:
    from semtwin.mappings import SourceFile

    files: list[Any] = []
    for path in paths:
        found = sorted(p for p in path.rglob("*") if p.suffix.lower() in _SOURCE_SUFFIXES[fmt]
                       and p.is_file()) if path.is_dir() else [path]
        files.extend(SourceFile(str(p), p.read_bytes()) for p in found)
    return files


@main.command("import")
@click.argument("fmt", metavar="FORMAT", type=click.Choice(["dtdl", "opcua", "aas"]))
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@STORE_OPTION
@click.option("--model", "model_iri", default=None,
              help="DTDL: the model IRI the interfaces become (default: their common prefix).")
@click.option("--version", default=None, help="Model version (default: from the source).")
@click.option("--activate", is_flag=True, help="Activate the imported model after its "
              "impact check.")
def import_(fmt: str, paths: tuple[Path, ...], store_dir: str | None, model_iri: str | None,
            version: str | None, activate: bool) -> None:
    """Import DTDL interfaces and ADT twins, OPC UA NodeSet2 files or AAS environments
    (JSON, XML, AASX) through the write pipeline: validated, atomic, with provenance.

    Exit status: 0 imported, 2 the input is invalid (each problem names the file and where).
    """
    import orjson

    files = _source_files(fmt, paths)
    with _runtime(_settings(store_dir)) as runtime:
        runtime.models.ensure_core()
        try:
            result = runtime.imports.run(fmt, files, model_iri=model_iri, version=version,
                                         activate=activate, actor="cli")
        except SemtwinError as err:
            click.echo(f"Error: {err.detail}", err=True)
            for problem in err.extra.get("problems", []) or []:  # type: ignore[attr-defined]
                click.echo(f"  {problem['file']} at {problem['where']}: {problem['message']}",
                           err=True)
            sys.exit(2)
    click.echo(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode())


@main.command("export")
@click.argument("fmt", metavar="FORMAT", type=click.Choice(["dtdl", "adt", "opcua", "aas"]))
@STORE_OPTION
@click.option("--model", "model_iri", default=None,
              help="The model IRI (dtdl, opcua) or interface DTMI (adt).")
@click.option("--version", default=None, help="Model version (default: the active one).")
@click.option("--output", "-o", type=click.Path(path_type=Path), default=None,
              help="Write to this file instead of standard output.")
def export(fmt: str, store_dir: str | None, model_iri: str | None, version: str | None,
           output: Path | None) -> None:
    """Export what was imported: DTDL interfaces (dtdl), twins as ADT bulk NDJSON (adt),
    an OPC UA model as NodeSet2 XML (opcua), AAS as a V3.0 JSON environment (aas)."""
    import orjson

    with _runtime(_settings(store_dir)) as runtime:
        try:
            if fmt == "dtdl":
                if not model_iri:
                    raise click.UsageError("--model is required for dtdl")
                text = orjson.dumps(runtime.imports.export_dtdl_models(model_iri, version),
                                    option=orjson.OPT_INDENT_2).decode()
            elif fmt == "adt":
                text = runtime.imports.export_adt(model_iri)
            elif fmt == "opcua":
                if not model_iri:
                    raise click.UsageError("--model is required for opcua")
                text = runtime.imports.export_opcua(model_iri).decode("utf-8")
            else:
                text = orjson.dumps(runtime.imports.export_aas(None),
                                    option=orjson.OPT_INDENT_2).decode()
        except SemtwinError as err:
            click.echo(f"Error: {err.detail}", err=True)
            sys.exit(2)
    if output is None:
        click.echo(text)
    else:
        output.write_text(text, encoding="utf-8")


@main.group()
def keys() -> None:
    """API keys: created with a role, shown once, stored hashed, revocable."""


@keys.command("create")
@click.option("--role", type=click.Choice(["reader", "writer", "modeler", "admin"]),
              required=True)
@click.option("--name", default="", help="What the key is for.")
@click.option("--tenant", default=None,
              help="The tenant the key belongs to (its own store); default: none.")
@STORE_OPTION
def keys_create(role: str, name: str, tenant: str | None, store_dir: str | None) -> None:
    """Create a key; it is printed once (store it now) and needed on every request since
    (Authorization: Bearer KEY, or X-API-Key: KEY)."""
    from semtwin.security import Role

    with _runtime(_settings(store_dir)) as runtime:
        try:
            record, secret = runtime.auth.keys.create(Role.parse(role), name, tenant)
        except SemtwinError as err:
            raise click.ClickException(err.detail) from None
    click.echo(f"created key {record.id} ({record.role.label}); it is shown only now:",
               err=True)
    click.echo(secret)


@keys.command("list")
@STORE_OPTION
def keys_list(store_dir: str | None) -> None:
    """The keys (never their secrets)."""
    import orjson

    with _runtime(_settings(store_dir)) as runtime:
        records = runtime.auth.keys.records()
    click.echo(orjson.dumps([r.json() for r in records], option=orjson.OPT_INDENT_2).decode())


@keys.command("revoke")
@click.argument("key_id")
@STORE_OPTION
def keys_revoke(key_id: str, store_dir: str | None) -> None:
    """Revoke a key: every request with it is refused from now on."""
    with _runtime(_settings(store_dir)) as runtime:
        try:
            runtime.auth.keys.revoke(key_id)
        except SemtwinError as err:
            raise click.ClickException(err.detail) from None
    click.echo(f"revoked key {key_id}", err=True)


@main.command()
@STORE_OPTION
def mcp(store_dir: str | None) -> None:
    """Serve the grounding tools (resolve, describe, query, check, cite) as a Model Context
    Protocol server over stdio, for a local agent."""
    from semtwin.mcp_server import build_server

    with _runtime(_settings(store_dir)) as runtime:
        runtime.models.ensure_core()
        build_server(runtime).run("stdio")
