"""The super-app gateway: the platform operator's backend."""
