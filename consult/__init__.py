"""Community consultation (城乡社区协商): the event-sourced domain and its application."""

__version__ = "0.1.0"
