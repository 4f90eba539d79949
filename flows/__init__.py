"""Prefect 3 flows for qc: thin wrappers; every task calls one library function (qc.rounds, reports)."""
