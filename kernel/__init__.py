"""The small shared kernel every citygate service is built on.

Settings, database, problem+json errors, health, logs with request ids, signing keys,
service-to-service tokens (issue side lives in ``identity``; verify and fetch sides here),
and the topology: which services exist, where they listen, who may call what.
"""
