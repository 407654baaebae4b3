"""Kari's Law emergency call notification bot for Webex."""
