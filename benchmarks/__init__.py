"""Benchmarks that measure skillvoucher against this machine's own ceiling, in the same run.

``python -m benchmarks`` runs every scenario; ``python -m benchmarks NAME`` one of them. Each
prints its figures and the ratio to a baseline measured in the same run (docs/performance.md).
"""
