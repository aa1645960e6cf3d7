"""Civil affairs bureau: civil-registry appointments."""
