"""imagedeck: a full-screen, keyboard-driven terminal UI for Docker images."""

__version__ = "0.1.0"
