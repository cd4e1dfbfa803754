"""Shared by the QGIS tests: no task outlives its test.

A QgsTask still running when pytest-qgis closes QGIS keeps ``exitQgis`` waiting
for ever (seen when a download test failed under load): after each test, every
task still in QGIS's task manager is cancelled and waited for.
"""

import time

import pytest


@pytest.fixture(autouse=True)
def _no_task_left_running():
    yield
    try:
        from qgis.core import QgsApplication
        from qgis.PyQt.QtCore import QCoreApplication
    except ImportError:
        return
    if QgsApplication.instance() is None:  # no QGIS in this process (the desktop tests start their own)
        return
    manager = QgsApplication.taskManager()
    if manager is None or not manager.count():
        return
    manager.cancelAll()
    deadline = time.monotonic() + 30
    while manager.countActiveTasks() and time.monotonic() < deadline:
        QCoreApplication.processEvents()
        time.sleep(0.02)
