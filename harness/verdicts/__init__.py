"""Expectations over a timeline, and the verdict they add up to."""
