"""The national credit-sharing platform (platform regime).

Departments report records about citizens (``routes``: the traffic police's overdue fines, the
courts' unpaid judgments) and services ask whether a citizen is restricted for them; which records
restrict which services is one table, ``rules``. The package follows the service skeleton
(docs/architecture.md) with two files fewer, on purpose:

- no ``me_routes.py``: the platform answers departments only, never a citizen;
- no ``policy.py``: it exists in the platform regime only (``kernel.topology``), so there is no
  regime difference to decide; ``rules`` is the joint-punishment table, not a regime switch.
"""
