"""The platform's phone: the super-app's own pages under ``/app/`` (WeUI, Chinese and English).

- ``offer``: whether the regime has them (``GatewayPolicy.phone``): the platform does; the rights
  regime's phone is the citizen's own app on its own origin, so there ``/app/`` is a 404 problem;
- ``rendering``: templates, the pages' security headers, problems shown as friendly pages;
- ``forms``: the anti-forgery token every state-changing form carries;
- ``views``: what each page shows, from the gateway's own functions (never its REST API over HTTP);
- ``routes``: the thin routes.
"""
