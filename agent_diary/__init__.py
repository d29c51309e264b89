"""agent-diary: publish a daily AI-agent diary from a git repository to X, exactly once."""

__version__ = "0.1.0"
