"""Pure domain logic: no Faust, no Redis, no I/O. Property-tested."""
