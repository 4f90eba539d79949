"""``python -m qc.cli``: the ``qc`` console script (the team server starts the review page this way)."""

from qc.cli import main

main()
