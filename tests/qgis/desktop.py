"""Start the real QGIS desktop under xvfb, in a fresh profile and HOME, with :mod:`desktop_driver`.

Used by the desktop tests and by ``benchmarks/plugin_desktop.py``. Recipe
(docs: /work/shared/design/verified-recipes.md, « QGIS desktop for real »)::

    xvfb-run -a -s "-screen 0 1600x1000x24" qgis --profiles-path DIR --profile p \
        --nologo --noversioncheck --code desktop_driver.py

with HOME, XDG folders and the data store in a temporary folder, no
PYTHONPATH: QGIS sees Debian's Python packages and nothing else (a user's
QGIS). ``qgis_process.bin`` runs the Processing algorithms the same way.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
DRIVER = HERE / "desktop_driver.py"
SCREEN = "-screen 0 1600x1000x24"


def missing_tools() -> str:
    """Why the desktop cannot run here ("" when it can)."""
    for tool in ("qgis", "xvfb-run", "xauth", "qgis_process.bin"):
        if shutil.which(tool) is None:
            return f"{tool} absent (scripts/setup --test installe qgis, xvfb et xauth)"
    return ""


def fresh_env(home: Path, **extra: str) -> dict[str, str]:
    """An environment like a new user's session: HOME, XDG folders, no PYTHONPATH, no venv."""
    home.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k not in (
        "PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME", "CQ_GEO_STORE", "QT_QPA_PLATFORM", "QGIS_PREFIX_PATH",
        "PYTEST_CURRENT_TEST", "PYTHONSTARTUP")}
    env["PATH"] = ":".join(p for p in env.get("PATH", "/usr/bin:/bin").split(":") if ".venv" not in p)
    runtime = home / "runtime"
    runtime.mkdir(exist_ok=True, mode=0o700)
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"), XDG_DATA_HOME=str(home / ".local" / "share"),
               XDG_CACHE_HOME=str(home / ".cache"), XDG_RUNTIME_DIR=str(runtime), LANG="fr_FR.UTF-8",
               LC_ALL="C.UTF-8", PYTHONNOUSERSITE="1")
    env.update(extra)
    return env


@dataclass
class DesktopRun:
    returncode: int
    stdout: str
    stderr: str
    report: dict
    home: Path


def run_desktop(config: dict, workdir: Path, timeout: float = 300.0, env_extra: dict | None = None) -> DesktopRun:
    """Run QGIS desktop with the driver and *config*; returns the exit status and the driver's report."""
    workdir = Path(workdir)
    home = workdir / "home"
    profiles = workdir / "profiles"
    profiles.mkdir(parents=True, exist_ok=True)
    config = dict(config, report=str(workdir / "report.json"))
    (workdir / "config.json").write_text(json.dumps(config), encoding="utf-8")
    env = fresh_env(home, CQ_DESKTOP_CONFIG=str(workdir / "config.json"), **(env_extra or {}))
    cmd = ["xvfb-run", "-a", "-s", SCREEN, "qgis", "--profiles-path", str(profiles), "--profile", "test",
           "--nologo", "--noversioncheck", "--code", str(DRIVER)]
    code, out, err = _run(cmd, env, workdir, timeout)
    report_path = workdir / "report.json"
    report = json.loads(report_path.read_text(encoding="utf-8")) if report_path.is_file() else {}
    return DesktopRun(code, out, err, report, home)


def _run(cmd, env, cwd, timeout):
    """Run *cmd* in its own process group; on timeout the whole group (xvfb-run, Xvfb, qgis) is killed."""
    import signal

    proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            errors="replace", start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
        return proc.returncode, out, err
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        return -999, out, err + f"\n[délai de {timeout:g} s dépassé : QGIS bloqué, arrêté]"


def install_profile(zip_path: Path, workdir: Path) -> Path:
    """Unpack the zip into the profile's plugin folder, as the plugin installer does (for qgis_process)."""
    import zipfile

    # QGIS_CUSTOM_CONFIG_PATH=<workdir>/profiles → the profile <workdir>/profiles/profiles/default
    plugins = Path(workdir) / "profiles" / "profiles" / "default" / "python" / "plugins"
    plugins.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(zip_path) as zf:
        zf.extractall(plugins)
    return plugins


def qgis_process(args: list[str], workdir: Path, timeout: float = 300.0, env_extra: dict | None = None):
    """``qgis_process.bin`` (``/usr/bin/qgis_process`` fails on Debian) in the fresh profile, plugins enabled."""
    workdir = Path(workdir)
    env = fresh_env(workdir / "home", QT_QPA_PLATFORM="offscreen", **(env_extra or {}))
    profiles = Path(workdir) / "profiles"
    # qgis_process reads the plugins of QGIS's default profile location, or QGIS_CUSTOM_CONFIG_PATH
    env["QGIS_CUSTOM_CONFIG_PATH"] = str(profiles)
    return _run(["qgis_process.bin"] + list(args), env, workdir, timeout)
