"""Instructor tools for the linear_classifiers kit (run as `python -m kit ...`)."""
