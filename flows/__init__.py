"""Prefect 3 flows for qc: thin wrappers; every task calls one library function (qc.rounds, reports).

- :mod:`flows.round`: schedule, ingest, score (mapped over batches of images), close;
- :mod:`flows.report`: the manager's report and feedback pages; :mod:`flows.demo`: the demo round;
- :mod:`flows.serve`: the deployments one process serves (``python -m flows.serve``);
  :mod:`flows.triggers`: a finished review starts the close of its round;
- :mod:`flows.server` and :mod:`flows.schedules`: team mode (the processes of ``qc server``, the
  schedules of ``qc schedule``), as library functions.

Each task opens its session with :func:`qc.store.db.session_for`, which disposes its engine.
The command line (:mod:`qc.cli`) imports these modules inside its commands; nothing else in
``qc`` imports them.
"""
