"""Flask views: thin adapters from HTTP to the transport-free callback objects."""
