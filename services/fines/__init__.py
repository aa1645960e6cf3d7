"""Traffic police: vehicle registry and fines."""
