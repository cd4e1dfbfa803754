"""The command line speaks French throughout, and ``--json`` everywhere (errors included).

Every sub-command's ``--help`` and a set of typical mistakes run through the
real ``main()`` (and a few through a real subprocess); no English argparse
text may remain. Each command accepts ``--json``; with it, the errors come as
JSON on stdout with the same exit code as in text.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

import pytest

from cq_geo.cli.main import build_parser, main
from tests.conftest import ROOT

#: English texts of argparse (Python 3.11–3.13) that must never reach a user.
ENGLISH = ["usage:", "positional arguments", "optional arguments", "options:", "show this help", "show program's",
           "invalid choice", "choose from", "the following arguments", "are required", "expected one argument",
           "expected at", "error:", "unrecognized arguments", "invalid int value", "invalid float value",
           "ambiguous option", "not allowed with", "ignored explicit", "subcommands", "maybe you meant"]


def leaf_commands() -> list[list[str]]:
    """Every command path: ["lookup"], ["data", "update"], …"""
    out = []

    def walk(parser, path):
        subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if not subs:
            out.append(path)
        for action in subs:
            for name, sub in action.choices.items():
                walk(sub, path + [name])
    walk(build_parser(), [])
    return out


COMMANDS = leaf_commands()


def english_in(text: str) -> list[str]:
    return [e for e in ENGLISH if e in text]


def run(capsys, *args) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_every_command_is_listed():
    assert ["lookup"] in COMMANDS and ["map"] in COMMANDS and ["batch"] in COMMANDS and ["data", "update"] in COMMANDS
    assert len(COMMANDS) >= 10


@pytest.mark.parametrize("path", [[]] + [c[:1] for c in COMMANDS if len(c) > 1][:1] + COMMANDS,
                         ids=lambda p: " ".join(p) or "cq-geo")
def test_help_is_french(capsys, path):
    code, out, err = run(capsys, *path, "--help")
    assert code == 0
    assert out.startswith("usage : cq-geo"), out[:80]
    assert "afficher cette aide et quitter" in out
    assert english_in(out + err) == []


@pytest.mark.parametrize("path", COMMANDS, ids=" ".join)
def test_every_command_has_json(path):
    parser = build_parser()
    for name in path:
        parser = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices[name]
    assert any("--json" in a.option_strings for a in parser._actions), path


MISTAKES = [
    (["lookupp"], "choix invalide : 'lookupp'"),
    (["lookup", "--lon"], "argument --lon : une valeur est attendue"),
    (["map"], "arguments obligatoires manquants : -o/--output"),
    (["lookup", "--lon", "3", "--lat", "50", "--bidule"], "arguments non reconnus : --bidule"),
    (["geocode", "x", "--limit", "cinq"], "valeur invalide (nombre entier attendu) : 'cinq'"),
    (["map", "-o", "c.html", "--simplify", "dix"], "nombre de mètres attendu (reçu : 'dix')"),
    (["batch", "in.csv", "-o", "out.csv", "--decimal", ";"], "choix invalide : ';'"),
    (["geocode", "x", "--geocoder", "google"], "choix invalide : 'google'"),
    (["lookup", "--lon", "3", "--lat", "50", "--geo", "offline"], "option ambiguë"),
    (["data", "import"], "arguments obligatoires manquants"),
]


@pytest.mark.parametrize("args, message", MISTAKES, ids=lambda v: " ".join(v) if isinstance(v, list) else "")
def test_mistakes_are_told_in_french(capsys, args, message):
    code, out, err = run(capsys, *args)
    assert code == 2
    assert message in err, err
    assert "cq-geo" in err and " : erreur : " in err and "usage : cq-geo" in err
    assert english_in(out + err) == []


@pytest.mark.parametrize("args, message", MISTAKES, ids=lambda v: " ".join(v) if isinstance(v, list) else "")
def test_mistakes_come_as_json_with_json(capsys, args, message):
    code, out, err = run(capsys, *args, "--json")
    assert code == 2
    answer = json.loads(out)
    assert answer["error"]["code"] == 2 and message in answer["error"]["message"]
    assert english_in(out + err) == []


@pytest.mark.parametrize("args", [
    ["lookup", "--lon", "abc", "--lat", "50"],
    ["lookup", "--lon", "3.39", "--lat", "50.3", "--store", "/nonexistent/cq.gpkg"],
    ["map", "-o", "/nonexistent/dir/carte.html", "--no-tiles"],
    ["batch", "/nonexistent/entree.csv", "-o", "/tmp/sortie.csv", "-q"],
    ["check", "--store", "/nonexistent/cq.gpkg"],
    ["data", "rollback", "--store", "/nonexistent/cq.gpkg"],
    ["geocode", "x", "--limit", "0"],
])
def test_command_errors_are_json_with_the_same_exit_code(capsys, args):
    text_code, _, text_err = run(capsys, *args)
    json_code, out, err = run(capsys, *args, "--json")
    assert text_code == json_code == 2, (text_err, out, err)
    answer = json.loads(out)
    assert answer["error"]["message"] and answer["error"]["message"] in text_err


def test_commands_without_a_json_answer_of_their_own_give_their_lines(capsys, tmp_path):
    code, out, _ = run(capsys, "data", "rollback", "--store", str(tmp_path / "absent.gpkg"), "--json")
    assert code == 2 and "error" in json.loads(out)  # a missing store is an error, said in JSON
    code, out, _ = run(capsys, "data", "status", "--store", str(tmp_path / "absent.gpkg"), "--json")
    assert code == 0 and json.loads(out)  # the status of a store not yet created is an answer
    code, out, _ = run(capsys, "map", "-o", str(tmp_path / "carte.html"), "--no-tiles", "--json")
    assert code == 0 and json.loads(out)["output"].endswith("carte.html")


def test_lookup_reads_lambert93_given_as_lon_lat(capsys):
    code, out, err = run(capsys, "lookup", "--lon", "728213", "--lat", "7025762", "--json")
    assert code == 0 and json.loads(out)["commune"]["insee"] == "59172"
    assert "lus comme --x 728213 --y 7025762" in err


def test_swapped_lon_lat_suggests_the_fix(capsys):
    code, _, err = run(capsys, "lookup", "--lon", "50.329", "--lat", "3.3957")
    assert code == 2 and "essayez --lon 3.3957 --lat 50.329" in err


def test_geocode_not_found_exits_2_in_json_as_in_text(tmp_path):
    pytest.importorskip("numpy")
    env_store = str(tmp_path / "vide.gpkg")
    text = subprocess.run([sys.executable, "-m", "cq_geo.cli.main", "geocode", "zzz qqq", "--store", env_store],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    as_json = subprocess.run([sys.executable, "-m", "cq_geo.cli.main", "geocode", "zzz qqq", "--store", env_store, "--json"],
                             capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert text.returncode == as_json.returncode == 2, (text.stderr, as_json.stdout)
    json.loads(as_json.stdout)
    assert english_in(text.stderr + as_json.stdout) == []


def test_real_subprocess_help_and_error():
    p = subprocess.run([sys.executable, "-m", "cq_geo.cli.main", "lookup", "--lon"], capture_output=True, text=True,
                       cwd=ROOT, timeout=120)
    assert p.returncode == 2 and "usage : cq-geo lookup" in p.stderr and english_in(p.stderr) == []


def test_progress_bars_are_french():
    """A real tqdm bar: « Écriture : 50 % … 1 234 lignes/s », no « Écriture: » nor a decimal point in the rate."""
    import io
    import re

    from cq_geo.progress import tqdm_fr

    out = io.StringIO()
    bar = tqdm_fr(total=1000, desc="Écriture", unit=" lignes", file=out, mininterval=0)
    bar.update(500)
    bar.close()
    last = out.getvalue().strip().split("\r")[-1]
    assert last.startswith("Écriture :  50 %|") and "Écriture:" not in out.getvalue()
    rate = re.search(r", ([\d\u202f,]+) lignes/s\]", last)
    assert rate and "." not in rate.group(1), last


def test_distances_are_french_and_zero_is_on_the_limit():
    from cq_geo.report import lookup_text
    from cq_geo.territory import load_territory

    result = load_territory().lookup(lon=3.3957, lat=50.3290)
    zone = next(z for z in result.zones if z["status"] == "inside")
    zone["distance_m"] = 0.0
    text = lookup_text(result)
    assert "à 0,0 m" not in text and "sur la limite" in text
    zone["distance_m"] = 1050.4
    assert "à 1\u202f050 m de la limite" in lookup_text(result)
