"""Faust agents: one module per stream of events, each exposing `register(ctx)`."""
