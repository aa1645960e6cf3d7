"""The Solid-style personal data pod."""
