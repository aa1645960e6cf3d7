"""The national credit-sharing platform (platform regime)."""
