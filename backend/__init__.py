"""Label Studio ML backend: HTTP protocol, project settings, job orchestration, CLI."""
