"""The rights phone: the citizen's own web app, on its own origin (``http://127.0.0.1:8210/``).

The server serves pages and static scripts only. Everything the citizen's app does happens in the
browser (``static/``): it logs in to the identity provider itself (authorization code + PKCE as the
public client ``citizen-app``), makes a one-time, non-extractable reply key per request (WebCrypto),
seals each request to the department's key fetched from the department itself, has the super-app
gateway relay the envelope (``POST /courier/<department>``, the gateway's session cookie) and opens
the sealed answer. The super-app only ever holds the envelopes and their sizes.
"""
