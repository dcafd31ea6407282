"""Crypto backends with one async interface (see ``base.Backend``)."""
