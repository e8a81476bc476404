"""Comparisons: one speaker's takes, a voice cloned at each of several vendors from them."""
