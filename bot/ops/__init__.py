"""Operator commands: webhook lifecycle and the doctor."""
