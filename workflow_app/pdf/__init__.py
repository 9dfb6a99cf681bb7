"""PDFs: plain facts -> plain context dict -> Jinja HTML -> WeasyPrint PDF.

Only printing.py (the app's settings) and texts.states_dir (the app's STATES_DIR)
read Flask; render.py and worker.py know neither Flask nor the database, so the
render workers stay small and the layout can be tested and benchmarked alone.
Import from the submodules; this file stays empty of imports so that loading the
package does not pull in WeasyPrint for callers that only need the facts dataclass.
"""
