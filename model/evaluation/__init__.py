"""Evaluation of a trained model on a held-out mock test set, with baselines."""

from model.evaluation.report import summary_table, write_report
from model.evaluation.run import evaluate

__all__ = ["evaluate", "write_report", "summary_table"]
