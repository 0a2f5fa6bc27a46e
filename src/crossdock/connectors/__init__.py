"""One package per external system type, each with client.py, capture.py, mapping/, connector.py, config.py."""
