"""Write the public methods of the stores and services from their operations.

An operation is a generator method marked ``@operation`` (``_reserve``: the rules and the
SQL, written once; see ``cardseq/store/ops.py``). Callers need plain methods that tools
can read, so this script writes, between the markers of each class:

- on the class that defines operations, ``def reserve(...)``: the same parameters, the
  operation's result as the return type and its docstring, running it on the calling
  thread (``self._drive``);
- on the ``cardseq.aio`` twin, ``async def reserve(...)`` with the same signature,
  awaiting the same generator through the twin's driver.

``python tools/facades.py`` rewrites the files; ``--check`` changes nothing and exits 1
when a file is not what it would write (CI runs it among the gates). The output is
formatted with the project's ruff, so that ``ruff format --check`` agrees.
"""

from __future__ import annotations

import argparse
import ast
import copy
import dataclasses
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
BEGIN = "    # ---- public methods, generated from the operations by tools/facades.py ----"
END = "    # ---- end of generated methods ----"

#: (file, class) with operations, in the order an async twin lists them
SOURCES = {
    "Store": [
        ("cardseq/store/registry.py", "Registry"),
        ("cardseq/store/ledger.py", "Ledger"),
        ("cardseq/store/reservations.py", "Reservations"),
        ("cardseq/store/cards.py", "Cards"),
        ("cardseq/store/base.py", "Store"),
    ],
    "CardService": [("cardseq/service.py", "CardService")],
}
#: (file, async class) -> the sync API it awaits
TWINS = {
    ("cardseq/aio.py", "AsyncStore"): "Store",
    ("cardseq/aio.py", "AsyncCardService"): "CardService",
}


@dataclasses.dataclass(frozen=True)
class Op:
    """One operation: the generator's name, its parameters as written, its result."""

    name: str  # the generator's, "_reserve"
    params: str  # "self, series: SeriesRef, count: Any, *, request_id: str | None = None"
    call: str  # "series, count, request_id=request_id"
    result: str  # "Block"
    doc: str
    names: frozenset[str]  # the names its signature uses
    module: str  # where it is written: "cardseq.store.reservations"
    formerly: tuple[str, ...] = ()  # old names of its public method (``@formerly``)
    renamed: tuple[tuple[str, str], ...] = ()  # (old, new) parameter names
    old_params: str = ""  # its signature as the old keywords call it
    alias_params: str = ""  # its signature under an old method name
    alias_call: str = ""

    @property
    def public(self) -> str:
        return self.name.removeprefix("_")


def operations(path: str, cls_name: str) -> list[Op]:
    tree = ast.parse((ROOT / path).read_text())
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == cls_name)
    found = []
    for node in cls.body:
        if isinstance(node, ast.FunctionDef) and any(
            isinstance(d, ast.Name) and d.id == "operation" for d in node.decorator_list
        ):
            found.append(_with_old_names(path, node))
    return found


def _formerly(fn: ast.FunctionDef) -> tuple[tuple[str, ...], dict[str, str]]:
    """The old method names and parameter names (old: new) of ``@formerly(...)``."""
    for d in fn.decorator_list:
        if isinstance(d, ast.Call) and isinstance(d.func, ast.Name) and d.func.id == "formerly":
            methods = tuple(ast.literal_eval(a) for a in d.args)
            return methods, {k.arg: ast.literal_eval(k.value) for k in d.keywords if k.arg}
    return (), {}


def _with_old_names(path: str, fn: ast.FunctionDef) -> Op:
    """The operation, with what its aliases need when it was once spelt otherwise."""
    op = _op(path, fn)
    methods, names = _formerly(fn)
    if not (methods or names):
        return op
    old = {new: old for old, new in names.items()}
    unknown = set(old) - {a.arg for a in fn.args.args + fn.args.kwonlyargs}
    if unknown:
        raise SystemExit(f"{path}:{fn.lineno} {fn.name}: @formerly names no parameter {unknown}")
    # the old keywords: from the first renamed parameter on, keyword-only and old-named
    variant = copy.deepcopy(fn)
    a = variant.args
    first = next((i for i, arg in enumerate(a.args) if arg.arg in old), len(a.args))
    moved = a.args[first:]
    defaults = [None] * (len(a.args) - len(a.defaults)) + list(a.defaults)
    a.kwonlyargs = moved + a.kwonlyargs
    a.kw_defaults = defaults[first:] + a.kw_defaults
    a.args = a.args[:first]
    a.defaults = [d for d in defaults[:first] if d is not None]
    for arg in a.args + a.kwonlyargs:
        arg.arg = old.get(arg.arg, arg.arg)
    # under an old method name: every renamed parameter under its old name, in place
    alias = copy.deepcopy(fn)
    for arg in alias.args.args + alias.args.kwonlyargs:
        arg.arg = old.get(arg.arg, arg.arg)
    aliased = _op(path, alias, names)
    extra = {"deprecated"} | ({"overload", "renamed"} if names and not methods else set())
    return dataclasses.replace(
        op,
        names=op.names | extra,
        formerly=methods,
        renamed=tuple(names.items()),
        old_params=_op(path, variant).params,
        alias_params=aliased.params,
        alias_call=aliased.call,
    )


def _op(path: str, fn: ast.FunctionDef, names: dict[str, str] | None = None) -> Op:
    """``fn`` as an operation; ``names`` (old: new) when its parameters are old-named."""
    names = names or {}
    where = f"{path}:{fn.lineno} {fn.name}"
    if not fn.name.startswith("_") or fn.name.startswith("__"):
        raise SystemExit(f"{where}: an operation's name is '_' and its public name")
    returns = fn.returns
    if not (
        isinstance(returns, ast.Subscript)
        and isinstance(returns.value, ast.Name)
        and returns.value.id == "Op"
    ):
        raise SystemExit(f"{where}: an operation returns Op[result]")
    doc = ast.get_docstring(fn, clean=True)
    if not doc:
        raise SystemExit(f"{where}: an operation's docstring is its public method's")
    a = fn.args
    params, call = [], []
    positional = a.posonlyargs + a.args
    defaults = [None] * (len(positional) - len(a.defaults)) + list(a.defaults)
    for i, (arg, default) in enumerate(zip(positional, defaults, strict=True)):
        params.append(_param(arg, default))
        if i:
            call.append(arg.arg)
        if a.posonlyargs and arg is a.posonlyargs[-1]:
            params.append("/")
    if a.vararg:
        params.append("*" + _param(a.vararg, None))
        call.append("*" + a.vararg.arg)
    elif a.kwonlyargs:
        params.append("*")
    for arg, default in zip(a.kwonlyargs, a.kw_defaults, strict=True):
        params.append(_param(arg, default))
        call.append(f"{names.get(arg.arg, arg.arg)}={arg.arg}")
    if a.kwarg:
        params.append("**" + _param(a.kwarg, None))
        call.append("**" + a.kwarg.arg)
    args = [*positional, *a.kwonlyargs, *(x for x in (a.vararg, a.kwarg) if x)]
    parts = [returns.slice, *a.defaults, *(d for d in a.kw_defaults if d)]
    parts += [arg.annotation for arg in args if arg.annotation is not None]
    used = frozenset(n.id for part in parts for n in ast.walk(part) if isinstance(n, ast.Name))
    module = path.removesuffix(".py").replace("/", ".")
    result = ast.unparse(returns.slice)
    return Op(fn.name, ", ".join(params), ", ".join(call), result, doc, used, module)


def _param(arg: ast.arg, default: ast.expr | None) -> str:
    text = arg.arg
    if arg.annotation is not None:
        text += f": {ast.unparse(arg.annotation)}"
    if default is not None:
        text += (" = " if arg.annotation is not None else "=") + ast.unparse(default)
    return text


def _docstring(doc: str) -> str:
    body = doc.replace("\n", "\n        ").replace("        \n", "\n")
    prefix = "r" if "\\" in doc else ""
    return f'        {prefix}"""{body}"""'


def sync_method(op: Op, cls_name: str) -> str:
    return _methods(op, cls_name, "def", "self._drive(self.{name}({call}))")


def async_method(op: Op, cls_name: str) -> str:
    return _methods(op, cls_name, "async def", "await self._driver.drive(self.sync.{name}({call}))")


def _methods(op: Op, cls_name: str, define: str, run: str) -> str:
    """The public method of ``op`` (with an overload per spelling when a parameter was
    renamed), then a deprecated method per old name."""
    head = f"    {define} {op.public}({{}}) -> {op.result}:"
    body = f"        return {run.format(name=op.name, call=op.call)}\n"
    where = f"{cls_name}.{op.public}"
    text = ""
    if op.renamed and not op.formerly:  # else the old keywords go with the old name
        olds = ", ".join(f"{old}= is {new}=" for old, new in op.renamed)
        keywords = ", ".join(f"{old}={new!r}" for old, new in op.renamed)
        text += (
            f"    @overload\n{head.format(op.params)} ...\n"
            f"    @overload\n    @deprecated({f'{where}: {olds} now'!r})\n"
            f"{head.format(op.old_params)} ...\n"
            f"    @renamed({where!r}, {keywords})\n"
        )
    text += f"{head.format(op.params)}\n{_docstring(op.doc)}\n{body}"
    for old in op.formerly:
        message = f"{cls_name}.{old} is now {where}"
        doc = f"Deprecated: ``{op.public}`` under its old name (it warns)."
        call = run.format(name=op.name, call=op.alias_call)
        text += (
            f"\n    @deprecated({message!r})\n"
            f"    {define} {old}({op.alias_params}) -> {op.result}:\n"
            f'        """{doc}"""\n        return {call}\n'
        )
    return text


def splice(text: str, path: str, cls_name: str, methods: list[str]) -> str:
    """``text`` with the generated region of ``cls_name`` holding ``methods``."""
    lines = text.split("\n")
    start = _class_line(lines, path, cls_name)
    try:
        begin = lines.index(BEGIN, start)
        end = lines.index(END, begin)
    except ValueError:
        raise SystemExit(f"{path}: class {cls_name} has no generated region (markers)") from None
    region = "\n".join(methods).rstrip("\n").split("\n") if methods else []
    return "\n".join(lines[: begin + 1] + region + lines[end:])


def _class_line(lines: list[str], path: str, cls_name: str) -> int:
    for i, line in enumerate(lines):
        if line.startswith((f"class {cls_name}(", f"class {cls_name}:")):
            return i
    raise SystemExit(f"{path}: no class {cls_name}")


def formatted(path: str, text: str) -> str:
    """``text`` as the project's ruff would leave it: imports sorted, then formatted."""
    for command in (["check", "--select", "I", "--fix", "--quiet"], ["format"]):
        done = subprocess.run(
            [sys.executable, "-m", "ruff", *command, "--stdin-filename", str(ROOT / path), "-"],
            input=text,
            capture_output=True,
            text=True,
            cwd=ROOT,
            check=False,
        )
        if done.returncode:
            raise SystemExit(f"{path}: ruff {command[0]} failed:\n{done.stderr}")
        text = done.stdout
    return text


IMPORTS_BEGIN = "# ---- imports of the generated methods, written by tools/facades.py ----"
IMPORTS_END = "# ---- end of generated imports ----"


def origins(module: str) -> dict[str, tuple[str, str]]:
    """Where each name a module can use comes from: ``{name: (module, name there)}``,
    modules absolute (``import x as y`` is ``(x, "")``)."""
    path = ROOT / (module.replace(".", "/") + ".py")
    package = module.rsplit(".", 1)[0]
    found: dict[str, tuple[str, str]] = {}
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            for alias in node.names:
                found[alias.asname or alias.name] = (base, alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                found[alias.asname or alias.name] = (alias.name, "")
        elif isinstance(node, ast.ClassDef | ast.FunctionDef):
            found[node.name] = (module, node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Name):
                    found[target.id] = (module, target.id)
    return found


def imports(path: str, text: str, ops: list[Op]) -> list[str]:
    """The import lines ``path`` needs for ``ops``' signatures, beyond its own."""
    module = path.removesuffix(".py").replace("/", ".")
    head = text.split(IMPORTS_BEGIN)[0]
    have = {
        alias.asname or alias.name
        for node in ast.parse(head).body
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    have |= {n.name for n in ast.parse(head).body if isinstance(n, ast.ClassDef | ast.FunctionDef)}
    chosen: dict[str, tuple[str, str]] = {}  # a name once, from where it was first found
    for op in ops:
        where = origins(op.module)
        for name in sorted(op.names - have - {"self"}):
            if name in where:  # else a builtin
                chosen.setdefault(name, where[name])
    root = module.split(".")[0]
    package = module.rsplit(".", 1)[0]
    sections: tuple[list[str], list[str]] = ([], [])  # the standard library's, the package's
    wanted: dict[str, set[str]] = {}
    for name, (source, original) in chosen.items():
        if not original:
            line = f"import {source} as {name}" if source != name else f"import {source}"
            sections[source.split(".")[0] == root].append(line)
        else:
            wanted.setdefault(source, set()).add(
                original if original == name else f"{original} as {name}"
            )
    for section in sections:
        section.sort()
    for source in sorted(wanted):
        local = source.split(".")[0] == root
        shown = "." + source.removeprefix(package + ".") if local else source
        sections[local].append(f"from {shown} import {', '.join(sorted(wanted[source]))}")
    return sections[0] + ([""] if sections[0] and sections[1] else []) + sections[1]


def splice_imports(text: str, path: str, lines: list[str]) -> str:
    try:
        begin = text.index(IMPORTS_BEGIN) + len(IMPORTS_BEGIN)
        end = text.index(IMPORTS_END, begin)
    except ValueError:
        raise SystemExit(f"{path}: no generated imports (markers)") from None
    return text[:begin] + "\n" + "".join(line + "\n" for line in lines) + text[end:]


def generate() -> dict[str, str]:
    """Every file this script writes, as it would write it."""
    files: dict[str, str] = {}

    def edit(path: str, cls_name: str, methods: list[str]) -> None:
        text = files.get(path) or (ROOT / path).read_text()
        files[path] = splice(text, path, cls_name, methods)

    for api, sources in SOURCES.items():
        for path, cls_name in sources:
            edit(path, cls_name, [sync_method(op, api) for op in operations(path, cls_name)])
    needed: dict[str, list[Op]] = {}
    for (path, cls_name), api in TWINS.items():
        ops = [op for source in SOURCES[api] for op in operations(*source)]
        edit(path, cls_name, [async_method(op, cls_name) for op in ops])
        needed.setdefault(path, []).extend(ops)
    for path, ops in needed.items():
        files[path] = splice_imports(files[path], path, imports(path, files[path], ops))
    return {path: formatted(path, text) for path, text in files.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if stale")
    args = parser.parse_args(argv)
    stale = []
    for path, text in generate().items():
        if (ROOT / path).read_text() != text:
            stale.append(path)
            if not args.check:
                (ROOT / path).write_text(text)
    if args.check and stale:
        print("stale generated methods (run python tools/facades.py):", *stale, sep="\n  ")
        return 1
    for path in stale:
        print(f"rewrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
