"""Views: models → Adaptive Cards, filled from the JSON templates in cards/."""
