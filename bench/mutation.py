"""Mutation testing of the service and rule modules with mutmut 3, and its score per module and area.

    python bench/mutation.py                 # every module in [tool.mutmut] only_mutate
    python bench/mutation.py accounts        # one area (or a module: accounts.sessions)
    python bench/mutation.py --report        # only the table of the last results
    python bench/mutation.py accounts --survivors   # and the names of the mutants left alive
    python bench/mutation.py projects --tests tests/integration/test_progress.py tests/unit
    python bench/mutation.py portal.projects.access.x_get_visible_project__mutmut_3 --tests ...

It installs nothing: mutmut comes with the dev extras (``pip install -e '.[dev]'``).
mutmut copies the tree into ``mutants/`` and works there (the sources are not touched);
its configuration, which tests run and with which pytest options, is ``[tool.mutmut]`` in
pyproject.toml. The results are mutmut's own: one ``mutants/<module>.py.meta`` JSON file per
mutated module, whose ``exit_code_by_key`` holds each mutant's test exit code, read here
with mutmut's table of exit codes (``mutmut.stats.status_by_exit_code``).
``mutmut results`` and ``mutmut show NAME`` (from the repository root) print the same.

Score = (killed + timeout) / all mutants of the module, as mutmut's own badge counts it,
except that mutants with no test (mutmut's "no tests") count as not killed.
A run reruns every mutant of the modules asked for (mutmut's name filter); its first run
collects which test covers which function (a full test run, kept in mutants/mutmut-stats.json).
A filter holding ``__mutmut_`` is a mutant's full name and is passed to mutmut as it is.

``--tests PATH ...`` replaces the config's ``pytest_add_cli_args_test_selection`` for that
run only (pyproject.toml is not edited): mutmut is started in this process's child through
``mutmut.configuration.config()``, whose returned Config is cached and read by mutmut's
pytest runner and by every worker forked from it, then mutmut's own ``cli``. mutmut keeps a
fingerprint of the selection in mutants/mutmut-stats.json; when it changes, mutmut resets
every result in mutants/ (all modules, not only the ones asked for) and maps tests to
functions again. So run one area per selection, and read its table before the next.
A score measured with a narrower selection is a lower bound of the full suite's: a mutant
that the chosen tests miss may be killed by a test left out, never the reverse.
The selection used is printed above the table (kept in mutants/bench-test-selection.json).
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import subprocess
import sys
import time
import tomllib
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SELECTION_RECORD = ROOT / "mutants" / "bench-test-selection.json"

# Runs mutmut's click command line with another test selection set on its cached Config.
RUNNER = """
import json, sys
from mutmut.configuration import config
from mutmut.__main__ import cli
config().pytest_add_cli_args_test_selection = json.loads(sys.argv[1])
sys.exit(cli(sys.argv[2:], prog_name="mutmut"))
"""
AREAS = ("accounts", "projects", "deliverables", "billing", "files", "feedback", "workspaces")


def mutmut_config() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mutmut"]


def mutated_modules() -> list[str]:
    """``portal/accounts/sessions.py`` → ``portal.accounts.sessions``, from the config."""
    return [path.removesuffix(".py").replace("/", ".") for path in mutmut_config()["only_mutate"]]


def last_selection() -> list[str]:
    """The test selection of the last run: --tests if it was given, else the config's."""
    if SELECTION_RECORD.exists():
        return json.loads(SELECTION_RECORD.read_text())
    return mutmut_config().get("pytest_add_cli_args_test_selection", [])


def selected(modules: list[str], filters: list[str]) -> list[str]:
    if not filters:
        return modules
    filters = [f.removeprefix("portal.") for f in filters]
    chosen = []
    for module in modules:
        short = module.removeprefix("portal.")
        if any(short == f or short.startswith(f + ".") or f.startswith(short + ".") or fnmatch.fnmatch(short, f)
               for f in filters):
            chosen.append(module)
    return chosen


def status_table():
    from mutmut.stats import status_by_exit_code  # mutmut's own reading of an exit code

    return status_by_exit_code


def results(module: str) -> dict[str, str]:
    """Mutant name → status, from mutmut's meta file for the module ({} if never run)."""
    meta = ROOT / "mutants" / (module.replace(".", "/") + ".py.meta")
    if not meta.exists():
        return {}
    status = status_table()
    codes = json.loads(meta.read_text())["exit_code_by_key"]
    return {name: status[code] for name, code in codes.items()}


def tally(statuses) -> Counter:
    counts = Counter()
    for status in statuses:
        counts["mutants"] += 1
        if status == "killed":
            counts["killed"] += 1
        elif status == "survived":
            counts["survived"] += 1
        elif status == "timeout":
            counts["timeout"] += 1
        else:
            counts["other"] += 1
            counts[status] += 1
    return counts


def score(counts: Counter) -> float:
    return 100.0 * (counts["killed"] + counts["timeout"]) / counts["mutants"] if counts["mutants"] else 0.0


def row(name: str, counts: Counter) -> str:
    return (f"| {name} | {counts['mutants']} | {counts['killed']} | {counts['survived']} | "
            f"{counts['timeout']}/{counts['other']} | {score(counts):.1f}% |")


def report(modules: list[str], survivors: bool) -> None:
    header = "| {} | mutants | killed | survived | timeout/other | score |\n|---|---:|---:|---:|---:|---:|"
    by_module = {module: results(module) for module in modules}
    print("tests:", " ".join(last_selection()) or "(pytest's default)")
    print()
    print(header.format("module"))
    for module, found in by_module.items():
        print(row(module.removeprefix("portal."), tally(found.values())))
    print()
    print(header.format("area"))
    total = Counter()
    for area in AREAS:
        statuses = [s for m, found in by_module.items() if m.split(".")[1] == area for s in found.values()]
        if statuses:
            counts = tally(statuses)
            total += counts
            print(row(area, counts))
    print(row("**all**", total))
    others = {s for found in by_module.values() for s in found.values()} - {"killed", "survived", "timeout"}
    if others:
        print("\nother:", ", ".join(f"{s}: {sum(1 for f in by_module.values() for v in f.values() if v == s)}"
                                   for s in sorted(others)))
    if survivors:
        print("\nsurvived:")
        for found in by_module.values():
            for name, status in found.items():
                if status not in ("killed", "timeout"):
                    print(f"  {name}  ({status})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("filters", nargs="*", help="areas or modules, e.g. accounts or accounts.sessions (default: all)")
    parser.add_argument("--max-children", type=int, default=2, help="mutants tested at once (default 2)")
    parser.add_argument("--report", action="store_true", help="print the last results without running")
    parser.add_argument("--survivors", action="store_true", help="list the mutants not killed")
    parser.add_argument(
        "--tests", nargs="+", metavar="PATH",
        help="test paths for this run instead of [tool.mutmut] pytest_add_cli_args_test_selection "
             "(default: the config's); a selection other than the last run's resets every result "
             "in mutants/ and maps tests to functions again; the score is then a lower bound "
             "of the whole suite's")
    args = parser.parse_args(argv)

    names = [f for f in args.filters if "__mutmut_" in f]
    modules = selected(mutated_modules(), args.filters)
    if not modules:
        parser.error(f"no module in [tool.mutmut] only_mutate matches {args.filters}")
    if not args.report:
        arguments = ["run", "--max-children", str(args.max_children)]
        module_filters = [f for f in args.filters if f not in names]
        if module_filters:
            arguments += [f"{module}.*" for module in selected(mutated_modules(), module_filters)]
        arguments += names
        tests = args.tests if args.tests else mutmut_config().get("pytest_add_cli_args_test_selection", [])
        if args.tests:
            command = [sys.executable, "-c", RUNNER, json.dumps(args.tests), *arguments]
            print("$ mutmut", " ".join(arguments), " # tests:", " ".join(args.tests), flush=True)
        else:
            command = [str(Path(sys.executable).parent / "mutmut"), *arguments]
            print("$", " ".join(command), flush=True)
        SELECTION_RECORD.parent.mkdir(exist_ok=True)
        SELECTION_RECORD.write_text(json.dumps(tests))
        started = time.monotonic()
        code = subprocess.call(command, cwd=ROOT)
        print(f"\nmutmut exited {code} after {time.monotonic() - started:.0f} s\n", flush=True)
        if code != 0:
            return code
    report(modules, args.survivors)
    return 0


if __name__ == "__main__":
    sys.exit(main())
