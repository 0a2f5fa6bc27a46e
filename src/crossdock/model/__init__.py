"""The canonical distribution data model: pure pydantic, imports nothing of ours."""
