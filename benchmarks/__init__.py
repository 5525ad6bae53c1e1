"""semtwin benchmarks: ``python -m benchmarks`` (or ``./dev.sh bench``)."""
