"""Cases: what the oracle runs a variant on. `strategies` draws valid cases with Hypothesis; `edge_cases` names
the configurations where implementations go wrong."""
