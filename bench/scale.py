"""How agkg's steps grow from 10k to 1M triples, printed as one table per run.

    python bench/scale.py [--levels 10k,100k,1m] [--work DIR] [--timeout 600] [--duration 3]

For each level it generates a synthetic project (bench/generate.py, seed 1, the default share of
deliberate mistakes) and measures, each step in a fresh child process so its peak memory is its
own and a step that passes --timeout is stopped and reported as such:

- generate      writing the project (data/*.ttl, seeds/*.txt)
- parse         agkg.sources.parse_files (rdflib, with file/line tracking) of data/ and ontology/;
                pyoxigraph's parser on the same files for comparison
- infer         agkg.reasoning.infer with each engine (owlrl is skipped above --owlrl-max, where it
                would not finish in 10 minutes); "same" says whether its triples equal owlrl's
- store cold    agkg.store.ensure_cache: parse (pyoxigraph) + infer (reasonable fed N-Triples) +
                N-Quads dump + load (into memory, or an on-disk store from ON_DISK_MIN_QUADS) +
                statistics, each timed; what `agkg serve` does on a changed input
- validate      `agkg validate` of the whole project, which (from FOCUSED_MIN_DATA_BYTES of
                data/) checks the built store with agkg.shacl_store; the cold build printed is
                the store build plus this. Also pyshacl on rdflib graphs, the reference, up to
                --pyshacl-max triples
- contribution  validating a 50-triple contribution file against the large graph
- ox load       `oxigraph load` of the same N-Quads into an on-disk (RocksDB) store;
                ox reopen: opening that store read-only and answering a first query
- serve warm    `agkg serve` on unchanged inputs: seconds until /healthz answers, and the resident
                memory of all its processes then
- queries       the four query kinds of bench/endpoint.py, each request about a different entity,
                N connections (each of --connections) for --duration s per cell, against `agkg serve` and
                `oxigraph serve-read-only` loaded with the same closure

The machine has 2 cores shared with the load generator (and, while this runs, possibly with
other work): read the numbers as this machine's, not as a ceiling.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import endpoint  # noqa: E402  (the query kinds and the load generator, shared with bench/endpoint.py)
import generate  # noqa: E402

LEVELS = {"10k": 10_000, "100k": 100_000, "1m": 1_000_000}


# --- steps, each run in its own process ------------------------------------------------------


def step(name: str, root: Path, engine: str | None) -> dict:
    """Run one measured step in this process and return what it measured."""
    import logging

    logging.getLogger("rdflib").setLevel(logging.ERROR)
    from agkg.sources import Project, parse_files

    project = Project(root)
    out: dict = {}
    if name == "parse":
        started = time.perf_counter()
        data = parse_files(project.data_files).graph
        parse_files(project.ontology_files)
        out["seconds"] = time.perf_counter() - started
        out["triples"] = len(data)
        import pyoxigraph as ox

        started = time.perf_counter()
        n = sum(1 for path in project.data_files for _ in ox.parse(path=str(path), format=ox.RdfFormat.TURTLE))
        out["oxigraph_seconds"] = time.perf_counter() - started
        out["oxigraph_triples"] = n
    elif name == "infer":
        from agkg.reasoning import infer

        data = parse_files(project.data_files).graph
        ontology = parse_files(project.ontology_files).graph
        started = time.perf_counter()
        inferred = infer(data, ontology, engine=engine)
        out["seconds"] = time.perf_counter() - started
        out["inferred"] = len(inferred)
        lines = sorted(f"{s.n3()} {p.n3()} {o.n3()}" for s, p, o in inferred if "_:" not in f"{s.n3()}{o.n3()}")
        out["digest"] = hashlib.sha256("\n".join(lines).encode()).hexdigest()[:16]
    elif name in ("validate", "validate-pyshacl", "contribution"):
        from agkg.validation import validate

        files = [root / "contribution" / "contribution.ttl"] if name == "contribution" else None
        started = time.perf_counter()
        report = validate(project, files, focused=False if name == "validate-pyshacl" else None)
        out["seconds"] = time.perf_counter() - started
        out["violations"] = report.count("Violation")
        out["warnings"] = report.count("Warning")
    elif name == "store":
        from agkg.store import ensure_cache

        shutil.rmtree(root / ".agkg-cache", ignore_errors=True)  # cold, whatever ran before
        started = time.perf_counter()
        entry = ensure_cache(project, root / ".agkg-cache")
        out["seconds"] = time.perf_counter() - started
        out["dump"] = str(entry.dump)
        out["quads"] = sum(entry.meta["triples"].values())
        out["steps"] = entry.meta.get("build_steps", {})
        out["on_disk"] = entry.meta.get("on_disk", False)
    elif name == "reopen":
        import pyoxigraph as ox

        started = time.perf_counter()
        store = ox.Store.read_only(str(root / "ox"))
        list(store.query("SELECT ?s WHERE { ?s a <https://w3id.org/agkg/ontology#Person> } LIMIT 1", use_default_graph_as_union=True))
        out["seconds"] = time.perf_counter() - started
    else:
        raise SystemExit(f"unknown step {name}")
    out["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def run_step(name: str, root: Path, timeout: float, engine: str | None = None) -> dict:
    """The step's measurements, or {"error": ...} if it failed or passed the timeout."""
    command = [sys.executable, __file__, "--step", name, "--root", str(root)] + (["--engine", engine] if engine else [])
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"> {timeout:.0f} s (stopped)"}
    if done.returncode != 0:
        return {"error": f"failed: {done.stderr.strip().splitlines()[-1] if done.stderr.strip() else done.returncode}"}
    return json.loads(done.stdout.strip().splitlines()[-1])


# --- a 50-triple contribution ------------------------------------------------------------------


def write_contribution(root: Path) -> int:
    """A new article and facts about existing entities, ~50 triples, in root/contribution/."""
    import re

    persons = re.findall(r"^agd:(person-\d+) a ", (root / "data" / "persons.ttl").read_text(encoding="utf-8"), re.M)[:3]
    groups = re.findall(r"^agd:(group-\d+) a ", (root / "data" / "organizations.ttl").read_text(encoding="utf-8"), re.M)[:3]
    states = re.findall(r"^agd:(state-\d+) a ", (root / "data" / "organizations.ttl").read_text(encoding="utf-8"), re.M)[:1]
    folder = root / "contribution"
    folder.mkdir(exist_ok=True)
    sentences, body = [], []
    for i, (person, group) in enumerate(zip(persons, groups)):
        s1 = f"Analysts named contributor person {i} as a spokesman of group {i} in 2023."
        s2 = f"State {i} sanctioned group {i} on May {i + 1}, 2023."
        s3 = f"Group {i} threatened the state on June {i + 1}, 2023."
        sentences += [s1, s2, s3]
        body.append(
            f"agd:contribution-membership-{i} a agkg:Membership ; org:member agd:{person} ; org:role agkg:spokesman ;\n"
            f"    org:organization agd:{group} ; agkg:startDate \"2023\"^^xsd:gYear ;\n"
            f"    prov:wasDerivedFrom agd:contribution-article ; agkg:quote \"{s1}\" .\n"
            f"agd:contribution-sanction-{i} a agkg:Sanction ; agkg:authority agd:{states[0]} ; agkg:target agd:{group} ;\n"
            f"    agkg:date \"2023-05-0{i + 1}\"^^xsd:date ; prov:wasDerivedFrom agd:contribution-article ; agkg:quote \"{s2}\" .\n"
            f"agd:contribution-threat-{i} a agkg:Threat ; agkg:speaker agd:{group} ; agkg:target agd:{states[0]} ;\n"
            f"    agkg:date \"2023-06-0{i + 1}\"^^xsd:date ; agkg:text \"a threat\"@en ;\n"
            f"    prov:wasDerivedFrom agd:contribution-article ; agkg:quote \"{s3}\" .\n"
        )
    (folder / "contribution.txt").write_text("A contributed article\n\n" + " ".join(sentences) + "\n", encoding="utf-8")
    text = (
        generate.PREFIXES
        + "\nagd:contribution-article a agkg:NewsArticle ; skos:prefLabel \"A contributed article\"@en ;\n"
        + "    dcterms:issued \"2023-07-01\"^^xsd:date ; agkg:textFile \"contribution.txt\" .\n\n"
        + "\n".join(body)
    )
    path = folder / "contribution.ttl"
    path.write_text(text, encoding="utf-8")
    import pyoxigraph as ox

    return sum(1 for _ in ox.parse(path=str(path), format=ox.RdfFormat.TURTLE))


# --- servers and queries ---------------------------------------------------------------------


def sample_entities(store_dir: Path, seed: int = 1, n: int = 200) -> list[str]:
    """Entities of every kind (persons, groups, places, facts' targets), drawn with a seed."""
    import pyoxigraph as ox

    store = ox.Store.read_only(str(store_dir))
    rows = store.query(
        "SELECT DISTINCT ?e WHERE { ?e <http://www.w3.org/2004/02/skos/core#prefLabel> ?l "
        "FILTER STRSTARTS(STR(?e), 'https://w3id.org/agkg/id/') }",
        use_default_graph_as_union=True,
    )
    every = sorted(r[0].value for r in rows)
    return random.Random(seed).sample(every, min(n, len(every)))


def process_group_rss_mb(pid: int) -> float:
    """Resident memory of a process and all its descendants."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        todo.extend(children.get(p, []))
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def serve_and_query(root: Path, store_dir: Path, duration: float, concurrency: list[int]) -> dict:
    """Warm start of `agkg serve`, then the four query kinds against it and Oxigraph's server."""
    agkg = shutil.which("agkg") or str(Path(sys.executable).with_name("agkg"))
    oxigraph = shutil.which("oxigraph") or str(Path(sys.executable).with_name("oxigraph"))
    config = root / "bench-serve.toml"
    config.write_text(f'cache_dir = "{root / ".agkg-cache"}"\ntimeout = 30.0\n', encoding="utf-8")
    ports = {"agkg": endpoint.free_port(), "oxigraph": endpoint.free_port()}
    out: dict = {"queries": {}}
    procs = []
    try:
        started = time.perf_counter()
        procs.append(endpoint.start([agkg, "--root", str(root), "serve", "--port", str(ports["agkg"]), "--config", str(config)]))
        try:
            endpoint.wait_http(f"http://127.0.0.1:{ports['agkg']}/healthz", procs[0], timeout=600)
            out["serve_warm_seconds"] = time.perf_counter() - started
            out["serve_rss_mb"] = process_group_rss_mb(procs[0].pid)
        except SystemExit as exc:
            out["serve_error"] = str(exc)
        procs.append(endpoint.start([oxigraph, "serve-read-only", "--location", str(store_dir), "--union-default-graph",
                                     "--bind", f"127.0.0.1:{ports['oxigraph']}"]))
        endpoint.wait_http(f"http://127.0.0.1:{ports['oxigraph']}/query?query=ASK%7B%7D", procs[1])
        out["oxigraph_rss_mb"] = process_group_rss_mb(procs[1].pid)
        subjects = sample_entities(store_dir)
        accept = "application/sparql-results+json"
        for connections in concurrency:
            for kind, make in endpoint.KINDS.items():
                queries = [make(e) for e in subjects]
                row = {}
                for server, path in (("agkg", "/sparql"), ("oxigraph", "/query")):
                    if server == "agkg" and "serve_warm_seconds" not in out:
                        continue
                    rps, latencies, statuses = endpoint.drive(
                        ports[server], endpoint.get_requests(ports[server], path, queries, accept), connections, duration
                    )
                    row[server] = {
                        "rps": rps,
                        "p50": endpoint.percentile(latencies, 0.5),
                        "p99": endpoint.percentile(latencies, 0.99),
                        "non200": {str(k): v for k, v in statuses.items() if k != 200},
                    }
                out["queries"].setdefault(str(connections), {})[kind] = row
    finally:
        for proc in procs:
            endpoint.stop(proc)
    return out


# --- one level ---------------------------------------------------------------------------------


def measure_level(label: str, triples: int, work: Path, args) -> dict:
    root = work / label
    result: dict = {"level": label}
    log = lambda message: print(f"[{label}] {message}", file=sys.stderr, flush=True)  # noqa: E731
    if root.exists():
        shutil.rmtree(root)
    started = time.perf_counter()
    manifest = generate.generate(triples, root, seed=1, mistakes=0.001)
    result["generate"] = {"seconds": time.perf_counter() - started, "triples": manifest["triples"],
                          "documents": manifest["documents"], "mistakes": manifest["mistakes"]}
    result["contribution_triples"] = write_contribution(root)
    log(f"generated {manifest['triples']} triples")
    result["parse"] = run_step("parse", root, args.timeout)
    log(f"parse {result['parse']}")
    result["infer"] = {}
    for engine in ("owlrl", "reasonable"):
        if engine == "owlrl" and triples > args.owlrl_max:
            result["infer"][engine] = {"error": "skipped (> 10 min expected)"}
            continue
        result["infer"][engine] = run_step("infer", root, args.timeout, engine)
        log(f"infer {engine} {result['infer'][engine]}")
    if triples <= args.pyshacl_max:
        result["validate_pyshacl"] = run_step("validate-pyshacl", root, args.timeout)
    else:
        result["validate_pyshacl"] = {"error": "skipped (> 10 min expected)"}
    log(f"validate with pyshacl {result['validate_pyshacl']}")
    # Everything after this needs the built store, so it gets three times the step timeout.
    result["store"] = run_step("store", root, 3 * args.timeout)
    log(f"store {result['store']}")
    result["validate"] = run_step("validate", root, args.timeout)  # on the built store
    log(f"validate {result['validate']}")
    result["contribution"] = run_step("contribution", root, args.timeout)  # against the built store
    log(f"contribution {result['contribution']}")
    dump = result["store"].get("dump")
    if dump:
        oxigraph = shutil.which("oxigraph") or str(Path(sys.executable).with_name("oxigraph"))
        started = time.perf_counter()
        subprocess.run([oxigraph, "load", "--location", str(root / "ox"), "--file", dump],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        result["ox_load"] = {"seconds": time.perf_counter() - started}
        result["ox_reopen"] = run_step("reopen", root, args.timeout)
        log("serving and querying")
        result["serve"] = serve_and_query(root, root / "ox", args.duration, args.connections)
    if not args.keep:
        shutil.rmtree(root, ignore_errors=True)
    return result


# --- printing ----------------------------------------------------------------------------------


def seconds(cell: dict | None, key: str = "seconds") -> str:
    if not cell:
        return "-"
    if "error" in cell:
        return cell["error"]
    return f"{cell[key]:.2f} s"


def peak(cell: dict | None) -> str:
    return f"{cell['peak_mb']:.0f} MB" if cell and "peak_mb" in cell else "-"


def print_table(results: list[dict], args) -> None:
    levels = [r["level"] for r in results]

    def row(name: str, cells: list[str]) -> None:
        print(f"{name:<30}" + "".join(f"{c:>34}" for c in cells))

    print(f"machine: {endpoint.machine()}; 2 cores shared with the load generator and other work")
    print(f"queries: {' and '.join(map(str, args.connections))} connections, {args.duration:g} s per cell; step timeout {args.timeout:.0f} s")
    row("", levels)
    row("asserted triples", [str(r["generate"]["triples"]) for r in results])
    row("generate", [seconds(r["generate"]) for r in results])
    row("parse (rdflib + lines)", [f"{seconds(r['parse'])}, {peak(r['parse'])}" for r in results])
    row("parse (pyoxigraph)", [seconds(r["parse"], "oxigraph_seconds") if "oxigraph_seconds" in r["parse"] else "-" for r in results])
    for engine in ("owlrl", "reasonable"):
        cells = []
        for r in results:
            c = r["infer"].get(engine, {})
            if "error" in c:
                cells.append(c["error"][:33])
            else:
                same = r["infer"].get("owlrl", {}).get("digest")
                tag = "" if engine == "owlrl" or not same else (", =owlrl" if same == c["digest"] else ", DIFFERS")
                cells.append(f"{c['seconds']:.1f} s, {peak(c)}{tag}")
        row(f"infer {engine}", cells)
    row("inferred triples", [str(r["infer"].get("reasonable", {}).get("inferred", "-")) for r in results])
    for key, name in (("validate_pyshacl", "validate, pyshacl (rdflib)"), ("validate", "validate, on the store")):
        row(name, [f"{seconds(r[key])}" + (f", {peak(r[key])}" if "peak_mb" in r[key] else "") for r in results])
        row("  violations / warnings", [f"{r[key].get('violations', '-')} / {r[key].get('warnings', '-')}" for r in results])
    row("50-triple contribution", [f"{seconds(r['contribution'])}" + (f", {peak(r['contribution'])}" if "peak_mb" in r["contribution"] else "") for r in results])
    row("agkg store cold build", [f"{seconds(r['store'])}, {peak(r['store'])}" for r in results])
    row("  quads (3 named graphs)", [str(r["store"].get("quads", "-")) + (" on disk" if r["store"].get("on_disk") else " in memory") for r in results])
    for name in ("parse", "infer", "load", "statistics"):
        row(f"  {name}", [f"{r['store']['steps'][name]:.2f} s" if name in r["store"].get("steps", {}) else "-" for r in results])
    row("cold: store build + validate", [
        "n/a" if "seconds" not in r["store"] or "seconds" not in r["validate"] else f"{r['store']['seconds'] + r['validate']['seconds']:.1f} s"
        for r in results
    ])
    row("peak memory (any step)", [f"{max((c.get('peak_mb', 0) for c in [r['parse'], r['validate'], r['validate_pyshacl'], r['contribution'], r['store'], *r['infer'].values()]), default=0):.0f} MB" for r in results])
    row("oxigraph load (RocksDB)", [seconds(r.get("ox_load")) for r in results])
    row("oxigraph reopen + 1st query", [seconds(r.get("ox_reopen")) for r in results])
    row("agkg serve warm start", [
        f"{r['serve']['serve_warm_seconds']:.2f} s, {r['serve']['serve_rss_mb']:.0f} MB RSS" if "serve_warm_seconds" in r.get("serve", {})
        else r.get("serve", {}).get("serve_error", "-")[:33] for r in results
    ])
    row("oxigraph server RSS", [f"{r['serve']['oxigraph_rss_mb']:.0f} MB" if "oxigraph_rss_mb" in r.get("serve", {}) else "-" for r in results])
    for connections in map(str, args.connections):
        print()
        print(f"{connections} connection(s): latency p50 / p99 ms and req/s, agkg | oxigraph (ratio of p50 agkg/oxigraph)")
        for kind in endpoint.KINDS:
            cells = []
            for r in results:
                q = r.get("serve", {}).get("queries", {}).get(connections, {}).get(kind, {})
                a, o = q.get("agkg"), q.get("oxigraph")
                if not a or not o:
                    cells.append("-")
                    continue
                cells.append(f"{a['p50']:.2f}/{a['p99']:.1f} {a['rps']:.0f} | {o['p50']:.2f}/{o['p99']:.1f} {o['rps']:.0f} ({a['p50'] / o['p50']:.1f}x)")
            row(kind, cells)
    for r in results:
        for connections, kinds in r.get("serve", {}).get("queries", {}).items():
            for kind, q in kinds.items():
                for server, cell in q.items():
                    if cell["non200"]:
                        print(f"  note: {r['level']} {kind} {server} ({connections} conn.): non-200 responses {cell['non200']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--levels", default="10k,100k,1m", help="comma-separated sizes (default 10k,100k,1m)")
    parser.add_argument("--work", type=Path, help="folder for the generated projects (default: a temporary one)")
    parser.add_argument("--timeout", type=float, default=600, help="seconds after which a step is stopped (default 600)")
    parser.add_argument("--owlrl-max", type=int, default=150_000, help="largest level owlrl is run on (default 150000)")
    parser.add_argument("--pyshacl-max", type=int, default=150_000, help="largest level pyshacl validates (default 150000)")
    parser.add_argument("--duration", type=float, default=3.0, help="measured seconds per query cell (default 3)")
    parser.add_argument("--connections", type=lambda text: [int(n) for n in text.split(",")], default=[8, 1],
                        help="concurrent connections, comma-separated, one query table each (default 8,1)")
    parser.add_argument("--json", type=Path, help="also write the raw measurements here")
    parser.add_argument("--keep", action="store_true", help="keep the generated projects")
    parser.add_argument("--step", help=argparse.SUPPRESS)
    parser.add_argument("--root", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--engine", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.step:
        print(json.dumps(step(args.step, args.root, args.engine)))
        return

    work = args.work or Path(tempfile.mkdtemp(prefix="agkg-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    results = []
    for label in args.levels.split(","):
        label = label.strip().lower()
        results.append(measure_level(label, LEVELS.get(label) or generate.parse_size(label), work, args))
        if args.json:
            args.json.write_text(json.dumps(results, indent=1), encoding="utf-8")
    print_table(results, args)
    if not args.work:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
