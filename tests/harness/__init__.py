"""One grading harness for every task: processes, exact comparison, the graded folder."""
