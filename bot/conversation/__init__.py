"""Conversation: events → context → command and card tables (with their permission) → replies."""
