"""Shared tooling for scripts and graders: Redis servers, RDB reader, task registry."""
