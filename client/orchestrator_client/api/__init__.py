
""" A client library for accessing Workflow Orchestrator API """
from .client import AuthenticatedClient, Client

__all__ = (
    "AuthenticatedClient",
    "Client",
)
