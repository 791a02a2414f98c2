"""The worker's HTTP surface (Faust web): health probes and the service lookups."""
