"""`make bench`: the performance suite (run as `python -m bench`)."""
