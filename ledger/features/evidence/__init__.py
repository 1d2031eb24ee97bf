"""Evidence: proofs of validator equivocation, checked and recorded on chain."""
