"""The NTM workflow and approval engine. The app is made by app.create_app
(wsgi.py); the domain is in services/, the workflow engine in workflow/."""
