"""The Solid-style personal data pod.

The pod exists only in the rights regime (``kernel.topology``): the platform regime keeps the
citizen's data in the departments, with no pod. It therefore has no regime difference to decide and
no ``policy.py``; were it ever to run in both regimes, the difference would be a policy object
reached through a ``PolicyDep`` (docs/architecture.md).
"""
