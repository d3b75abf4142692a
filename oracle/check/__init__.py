"""Checking a variant and telling what was found: `runner` searches for counterexamples, `report` writes what a
person reads, `locate` says where differences lie, `selftest` runs the oracle against its zoo, `settings` holds
the Hypothesis profiles."""
