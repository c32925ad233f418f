"""Front-door structural causal models of the paper's Appendix A, as Pyro programs."""
