"""Validators: the validator set and its schedule of changes, as the
consensus engine reads it from the state."""
