#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The layers of src/ hold: each layer includes only the headers of the layers
below it, no header include cycle exists, the lower layers never print, the
model makes no system call, and only the CLI uses ncurses.

    model   src/model,  include/pagescan/model    pure code
    kernel  src/kernel, include/pagescan/kernel   model
    render  src/render, include/pagescan/render   model
    cli     src/cli                               everything

Usage: check_layers.py SOURCE_DIR. Prints every violation; exit 1 if any.
"""
import os
import re
import sys

ALLOWED = {
    "model": {"model"},
    "kernel": {"model", "kernel"},
    "render": {"model", "render"},
    "cli": {"model", "kernel", "render", "cli"},
}
INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]', re.M)
PRINTS = re.compile(r"(?<![\w.>])(printf|fprintf|vfprintf|puts|fputs|putchar|perror|fwrite)\s*\(")
# System calls and stdio file access the model must not make.
SYSCALLS = re.compile(
    r"(?<![\w.>])(open|openat|read|write|close|ioctl|syscall|ptrace|mmap|munmap|fopen|"
    r"pidfd_open|waitpid|kill|fork|clock_gettime|getpid|poll)\s*\("
)


def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", lambda m: "\n" * m.group(0).count("\n"), text, flags=re.S)
    text = re.sub(r"//[^\n]*", "", text)
    return re.sub(r'"(\\.|[^"\\\n])*"', '""', text)


def layer_of(rel):
    parts = rel.split("/")
    if parts[0] == "src" and len(parts) > 2:
        return parts[1]
    if parts[:2] == ["include", "pagescan"] and len(parts) > 3:
        return parts[2]
    return None


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else "."
    files = []
    for top in ("src", "include"):
        for d, _, names in os.walk(os.path.join(root, top)):
            for n in names:
                if n.endswith((".c", ".h")):
                    files.append(os.path.relpath(os.path.join(d, n), root))
    errors = []
    graph = {}
    for rel in sorted(files):
        layer = layer_of(rel)
        if layer not in ALLOWED:
            errors.append(f"{rel}: not in a layer (src/<layer>/ or include/pagescan/<layer>/)")
            continue
        with open(os.path.join(root, rel), encoding="utf-8") as f:
            raw = f.read()
        code = strip_comments(raw)
        deps = []
        for kind, name in INCLUDE.findall(raw):
            if kind == "<":
                if name.startswith(("curses", "ncurses", "term")) and layer != "cli":
                    errors.append(f"{rel}: includes <{name}>: only the CLI uses ncurses")
                continue
            if name.startswith("pagescan/"):
                target = os.path.join("include", name)
                dep_layer = name.split("/")[1]
            else:
                target = os.path.normpath(os.path.join(os.path.dirname(rel), name))
                dep_layer = layer_of(target)
            if dep_layer not in ALLOWED[layer]:
                errors.append(f"{rel}: includes {name} ({dep_layer} layer): {layer} may use only {sorted(ALLOWED[layer])}")
            deps.append(target)
        graph[rel] = deps
        if layer != "cli":
            for m in PRINTS.finditer(code):
                line = code.count("\n", 0, m.start()) + 1
                errors.append(f"{rel}:{line}: calls {m.group(1)}(): only the CLI prints")
        if layer == "model":
            for m in SYSCALLS.finditer(code):
                line = code.count("\n", 0, m.start()) + 1
                errors.append(f"{rel}:{line}: calls {m.group(1)}(): the model makes no system call")

    # Include cycles among the project's headers.
    state = {}

    def visit(node, stack):
        state[node] = 1
        for dep in graph.get(node, ()):
            if state.get(dep) == 1:
                cycle = stack[stack.index(dep):] + [dep] if dep in stack else [node, dep]
                errors.append("include cycle: " + " -> ".join(cycle))
            elif dep in graph and not state.get(dep):
                visit(dep, stack + [dep])
        state[node] = 2

    for node in sorted(graph):
        if not state.get(node):
            visit(node, [node])

    for e in errors:
        print(e)
    print(f"{len(files)} files checked, {len(errors)} violations")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
