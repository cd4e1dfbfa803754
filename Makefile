# cq-geo — build helpers. `make plugin` builds the QGIS plugin zip (dist/cq_geo_qgis.zip).
PYTHON ?= $(shell [ -x .venv/bin/python ] && echo .venv/bin/python || echo python3)

.PHONY: plugin test-plugin clean-plugin

plugin:
	$(PYTHON) scripts/build_plugin.py

test-plugin: plugin
	scripts/test tests/qgis -k plugin -q

clean-plugin:
	rm -f dist/cq_geo_qgis.zip
