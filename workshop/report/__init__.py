"""``citygate report``: what each party really stored, matched against the ground truth (issue 15, part C).

``build_report(truth, stores)`` (``workshop.report.report``) is the engine; the truth comes from
``read_truth`` (``workshop.report.truth``), the stores from ``read_services`` or ``read_engines``
(``workshop.report.sources``); ``docs/contrast.md`` says what is counted and how, and
``docs/report-schema.md`` the JSON it produces.
"""
