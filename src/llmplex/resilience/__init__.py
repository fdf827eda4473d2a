"""Pure policies (retry now; breaker, fallback, router and rate limits later): they decide, the
drivers in ``_pipeline.py`` act."""
