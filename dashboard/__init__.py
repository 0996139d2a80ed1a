"""Dashboard pages for app.py: each module is one page that reads data or runs, never trains.

Pages call data/, models/ and pipelines/ for everything they show.
"""
