"""科技招商活动 scheduling & logistics service."""

__version__ = "0.1.0"
