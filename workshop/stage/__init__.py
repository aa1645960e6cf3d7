"""The stage: the facilitator's page (two phones, live sequence diagrams, who learned what)."""
