"""The setting and its targets: read-modify-write changes, serialized and audited."""
