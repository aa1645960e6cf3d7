"""Identity service: the OAuth 2.0 / OpenID Connect provider of a regime."""
