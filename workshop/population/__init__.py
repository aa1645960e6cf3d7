"""The workshop's synthetic city: residents of Guangzhou who used the services, and the ground truth.

- ``people``: the residents (``Resident``, ``Condition``), generated deterministically from a seed
  (``generate``); ``drawing`` draws them, from the tables of ``names`` (names, districts and
  streets) and ``conditions`` (the diagnoses a doctor treats and what is prescribed for each);
- ``demo_personas``: the five demo personas (``kernel.personas``) as residents, with the facts the
  services' demo seeds hold about them;
- ``facts`` and ``truth``: the ground-truth file, the "real world" the report holds every party's
  data against (``truth`` re-exports what a reader or writer of the file needs).

Everything here is invented: the names, numbers and addresses belong to nobody.
"""
