"""``evaluate(checkpoint, dataset)`` and ``write_report(result, out_dir)``; implemented in :mod:`model.evaluation`."""

from model.evaluation import evaluate, summary_table, write_report

__all__ = ["evaluate", "write_report", "summary_table"]
