"""Decision PDFs: plain facts -> plain context dict -> Jinja HTML -> WeasyPrint PDF.

Nothing here imports Flask or the rest of workflow_app, so it can be tested and
benchmarked alone. Import from the submodules (``workflow_app.pdf.render``,
``workflow_app.pdf.decision``); this file stays empty of imports so that loading the
package does not pull in WeasyPrint for callers that only need the facts dataclass.
"""
