"""Receiving webhooks: bytes → signature → envelope → record → 200; the receiving process."""
