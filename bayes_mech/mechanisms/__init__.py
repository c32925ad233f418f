"""Mechanism models p(z | y) with posterior draws."""
