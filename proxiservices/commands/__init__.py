"""Command groups of the operations contract, registered by proxiservices.cli."""
