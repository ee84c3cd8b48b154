"""Batch recommendation data platform: warehouse loading, training, scoring, publishing."""

__version__ = "0.1.0"
