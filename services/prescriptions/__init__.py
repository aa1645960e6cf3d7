"""Hospital and pharmacy: e-prescriptions."""
