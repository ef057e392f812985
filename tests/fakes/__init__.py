"""Stand-ins for outside services that the tests talk to over real sockets."""
