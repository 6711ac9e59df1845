"""Architecture metrics of polcg at two git revisions, side by side (issue 16's before/after).

For each revision: modules and lines of src/polcg, the longest functions, the import graph's cycles
(every `import polcg...` in a module, function-level imports included, `if TYPE_CHECKING:` imports
left out as import-linter's contracts do, read with `ast`; a cycle is a strongly connected group of
modules) and the modules at the package root.

    python benchmarks/architecture_metrics.py --before c176486 --after HEAD \
        --json benchmarks/results/architecture.json
"""

from __future__ import annotations

import argparse
import ast
import io
import json
import subprocess
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def sources(rev: str) -> dict[str, str]:
    """{module name: source} of src/polcg at a git revision."""
    blob = subprocess.run(["git", "-C", str(ROOT), "archive", rev, "src/polcg"], capture_output=True, check=True).stdout
    out = {}
    with tarfile.open(fileobj=io.BytesIO(blob)) as tar:
        for m in tar.getmembers():
            if m.isfile() and m.name.endswith(".py"):
                name = m.name[len("src/"):-3].replace("/", ".").removesuffix(".__init__")
                out[name] = tar.extractfile(m).read().decode("utf-8")
    return out


def imports(name: str, tree: ast.AST, modules: set[str]) -> set[str]:
    """The polcg modules `name` imports (anywhere in it), resolved to the deepest existing module."""
    found = set()
    for node in _runtime_nodes(tree):
        targets = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            targets = [f"{node.module}.{a.name}" for a in node.names] + [node.module]
        for t in targets:
            while t and t not in modules:
                t = t.rpartition(".")[0]
            if t.startswith("polcg.") and t != name:
                found.add(t)
    return found


def _runtime_nodes(tree: ast.AST):
    """Every node except those under `if TYPE_CHECKING:` (imports for annotations only)."""
    stack = [tree]
    while stack:
        node = stack.pop()
        yield node
        for child in ast.iter_child_nodes(node):
            test = child.test if isinstance(child, ast.If) else None
            if test is not None and "TYPE_CHECKING" in ast.unparse(test):
                stack.extend(child.orelse)
                continue
            stack.append(child)


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                out.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(out)


def functions(trees: dict[str, ast.AST]) -> list[tuple[int, str]]:
    out = []
    for name, tree in trees.items():
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                out.append((node.end_lineno - node.lineno + 1, f"{name}.{node.name}"))
    return sorted(out, reverse=True)


def metrics(rev: str) -> dict:
    src = sources(rev)
    trees = {n: ast.parse(s) for n, s in src.items()}
    graph = {n: imports(n, t, set(src)) for n, t in trees.items()}
    lengths = functions(trees)
    sizes = sorted(((len(s.splitlines()), n) for n, s in src.items()), reverse=True)
    median = sorted(n for n, _ in lengths)[len(lengths) // 2]
    return {
        "revision": subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", rev], capture_output=True,
                                   text=True, check=True).stdout.strip(),
        "modules": len(src), "lines": sum(n for n, _ in sizes), "functions": len(lengths),
        "median_function_lines": median, "longest_functions": [{"lines": n, "name": f} for n, f in lengths[:8]],
        "largest_modules": [{"lines": n, "module": m} for n, m in sizes[:5]],
        "root_modules": sorted(n for n in src if n.count(".") == 1 and n.split(".")[1] not in
                               {p.split(".")[1] for p in src if p.count(".") >= 2}),
        "import_cycles": cycles(graph),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", default="c176486")
    ap.add_argument("--after", default="HEAD")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    doc = {"before": metrics(args.before), "after": metrics(args.after)}
    for key in ("modules", "lines", "functions", "median_function_lines"):
        print(f"{key:24s} {doc['before'][key]:>8} {doc['after'][key]:>8}")
    for side in ("before", "after"):
        print(f"{side}: {len(doc[side]['import_cycles'])} cycles {doc[side]['import_cycles']}")
        print(f"  longest: {[(f['lines'], f['name']) for f in doc[side]['longest_functions'][:4]]}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(doc, indent=1) + "\n")


if __name__ == "__main__":
    main()
