"""The stage: the facilitator's page, two phones side by side with who learned what beside each."""
