"""Evaluation: refusal judges, task metrics, the evaluator and the cross-task matrix."""

from crosstask.evaluation.eval_config import EvalConfig, EvalOptions
from crosstask.evaluation.evaluator import EvalResult, evaluate, load_result
from crosstask.evaluation.matrix import MatrixConfig, cross_task_matrix, load_runs, matrix_table
from crosstask.evaluation.stats import Mean, Rate, bootstrap_ci
from crosstask.evaluation.task_metrics import get_metric, list_metrics, register_metric
from crosstask.evaluation.terminal_tables import result_table, scores_table
from crosstask.judges import Judge, get_judge, list_judges, register_judge

__all__ = [
    "EvalConfig", "EvalOptions", "EvalResult", "Judge", "MatrixConfig", "Mean", "Rate", "bootstrap_ci",
    "cross_task_matrix", "evaluate", "get_judge", "get_metric", "list_judges", "list_metrics", "load_result",
    "load_runs", "matrix_table", "register_judge",
    "register_metric", "result_table", "scores_table",
]
