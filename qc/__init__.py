"""qc: quality control and review for image-segmentation labels.

The rooms, top to bottom (layers point one way, DESIGN §3):

- :mod:`qc.cli` — the command line (the only part of ``qc`` that imports ``flows``, lazily);
  :mod:`qc.web` — the reviewer page;
- :mod:`qc.review` — the review rules (queue, decisions, views); :mod:`qc.rounds` — the application
  layer over the store (set up, schedule, ingest, score, close, export, status); :mod:`qc.demo`;
- :mod:`qc.store` — the only room with SQL (tables, migrations, store functions);
- the pure core, which knows neither database, Prefect nor web: :mod:`qc.core` (the shared
  vocabulary), :mod:`qc.masks`, :mod:`qc.match`, :mod:`qc.metrics`, :mod:`qc.consensus`,
  :mod:`qc.agreement`, :mod:`qc.flags`, :mod:`qc.routing`, :mod:`qc.guideline`, :mod:`qc.checks`,
  :mod:`qc.formats` (the only room that reads and writes annotation files), :mod:`qc.automation`,
  :mod:`qc.render`, :mod:`qc.templating` and :mod:`qc.errors`.

Nothing is built at import: importing ``qc`` loads no submodule.
"""
